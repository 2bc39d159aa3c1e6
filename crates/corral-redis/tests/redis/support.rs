use std::sync::OnceLock;

use corral_redis::test_server::TestServer;
use redis::aio::ConnectionManager;

/// One private server per test binary, started on first use; it dies with the process (see
/// `corral_redis::test_server`). Each test uses its own keys.
pub(crate) fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| match TestServer::start() {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    })
}

/// A fresh connection manager to `server`: one per simulated process.
pub(crate) async fn connect(server: &TestServer) -> ConnectionManager {
    let client = redis::Client::open(server.url()).expect("a valid url");
    ConnectionManager::new(client)
        .await
        .expect("the test server is up")
}

/// A key prefix of its own for each test.
pub(crate) fn key(test: &str) -> String {
    format!("test:{test}:{}", fastrand::u64(..))
}
