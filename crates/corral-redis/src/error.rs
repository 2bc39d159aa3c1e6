use std::fmt;

/// The error of every operation of this crate.
///
/// # Examples
///
/// ```
/// let error = corral_redis::Error::Shutdown;
/// assert!(error.is_shutdown());
/// assert_eq!(error.to_string(), "the queue is shut down");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Redis could not be reached, or refused the command. The connection manager reconnects
    /// by itself: the next operation may succeed.
    Redis(redis::RedisError),
    /// The queue is shut down (`put`), or shut down and drained (`get`).
    Shutdown,
    /// More calls asked for at once than the rate limiter's burst: it could never be let
    /// through.
    ExceedsBurst {
        /// The number of calls asked for.
        requested: u32,
        /// The limiter's burst.
        burst: u32,
    },
    /// An item could not be encoded as JSON by `put`.
    Encode(serde_json::Error),
    /// A configuration value is out of range (a zero rate, burst or limit).
    Config(&'static str),
    /// Redis answered something this crate does not expect (another program wrote the keys).
    Protocol(String),
}

impl Error {
    /// Whether this is [`Error::Shutdown`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::<u8>::unbounded(conn, "closed");
    /// queue.shutdown().await?;
    /// assert!(matches!(queue.put(1).await, Err(error) if error.is_shutdown()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::Shutdown)
    }

    /// Whether Redis could not be reached or is not ready (the connection dropped, was refused
    /// or timed out; the server is still loading its data after a restart): retrying later may
    /// succeed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!corral_redis::Error::Shutdown.is_connection());
    /// ```
    pub fn is_connection(&self) -> bool {
        match self {
            Self::Redis(error) => {
                error.is_io_error()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal()
                    || error.is_timeout()
                    || matches!(
                        error.kind(),
                        redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
                    )
            }
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redis(error) => write!(f, "redis failed: {error}"),
            Self::Shutdown => f.write_str("the queue is shut down"),
            Self::ExceedsBurst { requested, burst } => write!(
                f,
                "asked for {requested} calls at once, above the burst of {burst}"
            ),
            Self::Encode(error) => write!(f, "cannot encode the item: {error}"),
            Self::Config(what) => write!(f, "invalid configuration: {what}"),
            Self::Protocol(what) => write!(f, "unexpected reply from redis: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Redis(error) => Some(error),
            Self::Encode(error) => Some(error),
            _ => None,
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(error)
    }
}
