//! The direct lane's connection: the HTTP/2 connection under a gRPC
//! channel, for the engine's direct lane (`engine/direct.rs`), which writes
//! calls onto it without tonic or the relay's pipe. It is the channel's
//! latest connection (the connector records each one in its [`Dial`]) until
//! that one closes (a server that rotates its connections sends GOAWAY);
//! then the lane dials a connection of its own, at once, rather than fail
//! calls until tonic notices.

use std::io;
use std::sync::Arc;

use ::http::uri::{Authority, Scheme};

use super::dial::Dial;
use super::relay;

/// The HTTP/2 connection under a gRPC channel, for the direct lane.
#[derive(Clone)]
pub struct DirectLane {
    dial: Arc<Dial>,
    /// The scheme and authority every request names.
    pub scheme: Scheme,
    pub authority: Authority,
    /// One dial at a time, for all the calls that found the connection gone.
    dialing: Arc<tokio::sync::Mutex<()>>,
}

impl DirectLane {
    pub(super) fn new(dial: Arc<Dial>, tls: bool, authority: Authority) -> DirectLane {
        DirectLane {
            dial,
            scheme: if tls { Scheme::HTTPS } else { Scheme::HTTP },
            authority,
            dialing: Default::default(),
        }
    }

    fn current(&self) -> Option<relay::Direct> {
        self.dial
            .direct
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A connection ready for one more call: the current one, unless it
    /// cannot take a call or is `refused` (which just refused one); then a
    /// new one, dialed once for every call waiting.
    pub async fn connection(&self, refused: Option<&relay::Direct>) -> io::Result<relay::Direct> {
        let usable = |direct: &Option<relay::Direct>| {
            direct
                .clone()
                .filter(|d| refused.is_none_or(|r| !Arc::ptr_eq(&d.estimator, &r.estimator)))
        };
        if let Some(direct) = usable(&self.current())
            && let Ok(ready) = direct.ready().await
        {
            return Ok(ready);
        }
        let _dialing = self.dialing.lock().await;
        // Another call may have dialed meanwhile.
        let current = self.current();
        if let Some(direct) = usable(&current)
            && let Ok(ready) = direct.ready().await
        {
            return Ok(ready);
        }
        // Within --connect-timeout, as the channel's own dial.
        let dial = async {
            let watch = self.dial.clone().open().await?;
            relay::connect(watch, self.dial.keepalive).await
        };
        let (direct, _ended) = tokio::time::timeout(self.dial.timeout, dial)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no connection in time"))??;
        *self.dial.direct.lock().unwrap_or_else(|e| e.into_inner()) = Some(direct.clone());
        direct.ready().await.map_err(io::Error::other)
    }
}
