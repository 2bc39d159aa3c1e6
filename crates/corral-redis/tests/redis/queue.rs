pub(crate) async fn take_item_and_hang(_conn: redis::aio::ConnectionManager, _key: &str) {
    unimplemented!()
}
