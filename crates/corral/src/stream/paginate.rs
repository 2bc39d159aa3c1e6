//! `paginate` and `paginate_cursor`: the guides' `fetch_paginated` and `AsyncPaginator`.
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_core::stream::FusedStream;
use pin_project_lite::pin_project;

/// A stream of every item of a page-numbered API: fetches page `first`, `first + 1`, ... and
/// ends at the first empty page.
///
/// Pages are fetched lazily: the next page is requested only when the consumer asks for an
/// item after the last one of the current page, so `take(n)` fetches only the pages that hold
/// those `n` items. An error is yielded as an `Err` item and ends the stream (as an exception
/// ends an async generator); wrap `fetch` in a retry to ride over transient failures.
///
/// The stream is `Unpin` when `fetch`'s future is (an `async` block is not): otherwise pin it
/// (`std::pin::pin!`, `Box::pin`) to call `next()` on it.
///
/// # Cancel safety
///
/// Calling `next()` on this stream is cancel safe: if it is used in `select!` and another
/// branch completes first, no item was lost, and a fetch in progress goes on at the next call.
///
/// # Examples
///
/// The guides' `fetch_paginated(url)`, pages numbered from 1:
///
/// ```
/// use corral::stream::{StreamExt, paginate};
///
/// async fn fetch_page(page: u64) -> Result<Vec<String>, std::io::Error> {
///     // pretend the API has two pages of two users each
///     Ok(match page {
///         1 => vec!["ada".into(), "bob".into()],
///         2 => vec!["cy".into(), "dee".into()],
///         _ => vec![],
///     })
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), std::io::Error> {
/// let users: Result<Vec<String>, _> = paginate(1, fetch_page).collect().await;
/// assert_eq!(users?, ["ada", "bob", "cy", "dee"]);
/// # Ok(())
/// # }
/// ```
pub fn paginate<T, E, I, F, Fut>(first: u64, fetch: F) -> Paginate<F, Fut, I::IntoIter>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<I, E>>,
    I: IntoIterator<Item = T>,
{
    Paginate {
        fetch,
        pending: None,
        items: None,
        next_page: Some(first),
    }
}

pin_project! {
    /// The stream of [`paginate`].
    ///
    /// A hand-written state machine rather than an `async_stream` generator: it hands on each
    /// item without the generator's per-item slot (the `paginate` benchmark measures it).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::stream::{Paginate, StreamExt, paginate};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), std::io::Error> {
    /// let users: Paginate<_, _, _> = paginate(1, |page| async move {
    ///     Ok::<_, std::io::Error>(if page == 1 { vec!["ada", "bob"] } else { vec![] })
    /// });
    /// let mut users = std::pin::pin!(users); // an `async` block's future is not `Unpin`
    /// while let Some(user) = users.next().await {
    ///     println!("{}", user?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Paginate<F, Fut, It> {
        fetch: F,
        #[pin]
        pending: Option<Fut>,
        items: Option<It>,
        // The page to fetch when the current one runs out; `None` once the stream ended.
        next_page: Option<u64>,
    }
}

impl<T, E, I, F, Fut> Stream for Paginate<F, Fut, I::IntoIter>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<I, E>>,
    I: IntoIterator<Item = T>,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if let Some(items) = this.items {
            if let Some(item) = items.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            *this.items = None;
        }
        if this.pending.is_none() {
            let Some(page) = *this.next_page else {
                return Poll::Ready(None);
            };
            this.pending.set(Some((this.fetch)(page)));
        }
        let Some(pending) = this.pending.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let fetched = ready!(pending.poll(cx));
        this.pending.set(None);
        match fetched {
            Err(error) => {
                *this.next_page = None;
                Poll::Ready(Some(Err(error)))
            }
            Ok(items) => {
                let mut items = items.into_iter();
                match items.next() {
                    None => {
                        *this.next_page = None;
                        Poll::Ready(None)
                    }
                    Some(first) => {
                        *this.next_page = this.next_page.and_then(|page| page.checked_add(1));
                        *this.items = Some(items);
                        Poll::Ready(Some(Ok(first)))
                    }
                }
            }
        }
    }
}

impl<T, E, I, F, Fut> FusedStream for Paginate<F, Fut, I::IntoIter>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<I, E>>,
    I: IntoIterator<Item = T>,
{
    fn is_terminated(&self) -> bool {
        self.next_page.is_none() && self.pending.is_none() && self.items.is_none()
    }
}

impl<F, Fut, It> fmt::Debug for Paginate<F, Fut, It> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginate")
            .field("next_page", &self.next_page)
            .field("fetching", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

/// One page of a cursor-based API: its items and the cursor of the next page, if any.
///
/// # Examples
///
/// ```
/// let page = corral::stream::Page { items: vec![1, 2], next: Some("after-2".to_owned()) };
/// assert_eq!(page.items.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The cursor to fetch the next page with, or `None` when this is the last page.
    pub next: Option<C>,
}

/// A stream of every item of a cursor-based API: fetches with `None` first, then with each
/// page's `next` cursor, and ends after a page without a cursor or at the first empty page.
///
/// Lazy, error-ending and cancel safe as [`paginate`] is.
///
/// # Cancel safety
///
/// Calling `next()` on this stream is cancel safe: if it is used in `select!` and another
/// branch completes first, no item was lost, and a fetch in progress goes on at the next call.
///
/// # Examples
///
/// ```
/// use corral::stream::{Page, StreamExt, paginate_cursor};
///
/// async fn list_events(cursor: Option<u32>) -> Result<Page<u32, u32>, std::io::Error> {
///     let start = cursor.unwrap_or(0);
///     let items: Vec<u32> = (start..(start + 3).min(7)).collect();
///     let next = (start + 3 < 7).then_some(start + 3);
///     Ok(Page { items, next })
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), std::io::Error> {
/// let events: Result<Vec<u32>, _> = paginate_cursor(list_events).collect().await;
/// assert_eq!(events?, [0, 1, 2, 3, 4, 5, 6]);
/// # Ok(())
/// # }
/// ```
pub fn paginate_cursor<T, C, E, F, Fut>(mut fetch: F) -> impl Stream<Item = Result<T, E>>
where
    F: FnMut(Option<C>) -> Fut,
    Fut: Future<Output = Result<Page<T, C>, E>>,
{
    async_stream::stream! {
        let mut cursor = None;
        loop {
            let page = match fetch(cursor.take()).await {
                Ok(page) => page,
                Err(error) => {
                    yield Err(error);
                    break;
                }
            };
            if page.items.is_empty() {
                break;
            }
            for item in page.items {
                yield Ok(item);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
}
