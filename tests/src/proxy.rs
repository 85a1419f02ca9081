//! A userspace TCP proxy that makes a link bad on purpose, for the bad-link tests: it holds every
//! chunk for a delay (this kernel has no netem), counts the bytes each way, and cuts every open
//! connection when told to or once a byte count is passed — while still accepting new ones, so the
//! link "comes back" for the next request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Bytes counted by a proxy and the commands it obeys.
#[derive(Default)]
pub struct Control {
    /// Bytes forwarded from clients to the target.
    pub up: AtomicU64,
    /// Bytes forwarded from the target to clients.
    pub down: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections cut.
    pub cuts: AtomicU64,
    /// Cut every open connection once `up + down` passes this (0: never); cleared after the cut.
    cut_at: AtomicU64,
    /// Raised to cut every open connection now; each connection sees the generation move.
    generation: AtomicU64,
    stop: AtomicBool,
}

impl Control {
    /// Bytes forwarded both ways.
    pub fn total(&self) -> u64 {
        self.up.load(Ordering::SeqCst) + self.down.load(Ordering::SeqCst)
    }

    /// Cuts every open connection once `more` further bytes have passed (either way).
    pub fn cut_after(&self, more: u64) {
        self.cut_at
            .store(self.total() + more.max(1), Ordering::SeqCst);
    }

    /// Cuts every open connection now.
    pub fn cut_now(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn count(&self, up: bool, n: u64) {
        if up {
            self.up.fetch_add(n, Ordering::SeqCst);
        } else {
            self.down.fetch_add(n, Ordering::SeqCst);
        }
        let at = self.cut_at.load(Ordering::SeqCst);
        if at != 0
            && self.total() >= at
            && self
                .cut_at
                .compare_exchange(at, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.cut_now();
        }
    }
}

/// A running proxy.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Its counters and commands.
    pub control: Arc<Control>,
}

impl Proxy {
    /// Listens on `listen` and forwards to `target`, holding each chunk `delay` in each direction.
    pub fn start(listen: SocketAddr, target: SocketAddr, delay: Duration) -> Proxy {
        let listener = TcpListener::bind(listen).unwrap();
        let addr = listener.local_addr().unwrap();
        let control = Arc::new(Control::default());
        let c = control.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                if c.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(10))
                else {
                    continue;
                };
                // Forward each chunk as it comes: the delay is the proxy's, not Nagle's.
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                c.connections.fetch_add(1, Ordering::SeqCst);
                let generation = c.generation.load(Ordering::SeqCst);
                let pair = Arc::new(Mutex::new(false));
                for up in [true, false] {
                    let (from, to) = if up {
                        (client.try_clone().unwrap(), server.try_clone().unwrap())
                    } else {
                        (server.try_clone().unwrap(), client.try_clone().unwrap())
                    };
                    pump(from, to, up, delay, c.clone(), generation, pair.clone());
                }
            }
        });
        Proxy { addr, control }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::SeqCst);
        self.control.cut_now();
        // Wake the accept loop so it sees the stop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// Moves one direction of one connection: a reader stamps each chunk with its due time, a writer
/// sends it when due. Either side ending, or a cut, closes both sockets.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    up: bool,
    delay: Duration,
    control: Arc<Control>,
    generation: u64,
    closed: Arc<Mutex<bool>>,
) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let cut = {
        let control = control.clone();
        move || control.generation.load(Ordering::SeqCst) != generation
    };
    let close = {
        let (a, b) = (
            Arc::new(from.try_clone().unwrap()),
            Arc::new(to.try_clone().unwrap()),
        );
        let control = control.clone();
        move |was_cut: bool| {
            let mut c = closed.lock().unwrap();
            if !*c {
                *c = true;
                if was_cut {
                    control.cuts.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    };
    let close2 = close.clone();
    let cut2 = cut.clone();
    from.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if cut() {
                close(true);
                return;
            }
            match from.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.send((Instant::now() + delay, Vec::new()));
                    return;
                }
                Ok(n) => {
                    let _ = tx.send((Instant::now() + delay, buf[..n].to_vec()));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    close(false);
                    return;
                }
            }
        }
    });
    thread::spawn(move || {
        while let Ok((due, chunk)) = rx.recv() {
            while Instant::now() < due {
                if cut2() {
                    close2(true);
                    return;
                }
                thread::sleep((due - Instant::now()).min(Duration::from_millis(50)));
            }
            if cut2() {
                close2(true);
                return;
            }
            if chunk.is_empty() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            // Counted as it enters the link, before the far side can see it: a reader of the
            // counters after its answer arrived sees every byte of it.
            control.count(up, chunk.len() as u64);
            if to.write_all(&chunk).is_err() {
                close2(false);
                return;
            }
        }
    });
}

/// Serves the link measurements: each connection sends an 8-byte big-endian count N and gets N
/// bytes back (N = 1 measures a round trip, a large N the rate).
pub fn serve(listen: SocketAddr) {
    let listener = TcpListener::bind(listen).unwrap();
    for s in listener.incoming() {
        let Ok(mut s) = s else { continue };
        thread::spawn(move || {
            let mut n = [0u8; 8];
            if s.read_exact(&mut n).is_err() {
                return;
            }
            let n = u64::from_be_bytes(n).min(64 * 1024 * 1024) as usize;
            let _ = s.write_all(&vec![0x5a; n]);
        });
    }
}

/// Asks a [`serve`] endpoint at `addr` for `n` bytes; returns the time from sending the request
/// to the last byte.
pub fn fetch(addr: SocketAddr, n: u64) -> std::io::Result<Duration> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(20))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let t = Instant::now();
    s.write_all(&n.to_be_bytes())?;
    let mut got = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    while got < n {
        let k = s.read(&mut buf)?;
        if k == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += k as u64;
    }
    Ok(t.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_delays_counts_and_cuts() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = l.local_addr().unwrap();
        drop(l);
        thread::spawn(move || serve(target));
        thread::sleep(Duration::from_millis(100));
        let p = Proxy::start(
            "127.0.0.1:0".parse().unwrap(),
            target,
            Duration::from_millis(100),
        );
        // A round trip crosses the delay twice.
        let rtt = fetch(p.addr, 1).unwrap();
        assert!(rtt >= Duration::from_millis(200), "{rtt:?}");
        assert_eq!(p.control.up.load(Ordering::SeqCst), 8);
        assert_eq!(p.control.down.load(Ordering::SeqCst), 1);
        // A cut after 10 kB ends a 1 MB transfer; the next connection works.
        p.control.cut_after(10_000);
        assert!(fetch(p.addr, 1_000_000).is_err());
        assert_eq!(p.control.cuts.load(Ordering::SeqCst), 1);
        assert!(fetch(p.addr, 1000).is_ok());
        assert_eq!(p.control.connections.load(Ordering::SeqCst), 3);
    }
}
