//! A TCP proxy that counts round trips and can add latency, for the network
//! benchmarks and for tests that pin how many round trips a migration costs.
//!
//! A round trip is a client write burst that follows a server reply: the
//! first bytes the client sends after the server last spoke (the very first
//! client bytes count too). Pipelined requests written before any reply are
//! one round trip however many messages they hold, which is what a
//! network's latency charges for. The count does not depend on the protocol,
//! so PostgreSQL, MySQL and TLS are counted alike.
//!
//! Threads, not async: two per connection (four with a delay), and the
//! benchmark opens a handful of connections.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How many bytes one read forwards at most.
const CHUNK: usize = 64 * 1024;

/// What the proxy's threads share.
#[derive(Debug, Default)]
struct Shared {
    round_trips: AtomicU64,
    connections: AtomicU64,
    stopped: AtomicBool,
    /// A byte string that, when the client sends it, drops the connection
    /// before it reaches the server (a fault for tests).
    cut_on: Mutex<Option<Vec<u8>>>,
    /// How many connections a cut dropped.
    cuts: AtomicU64,
    /// The live connections' sockets, to shut them down on drop.
    sockets: Mutex<Vec<TcpStream>>,
}

impl Shared {
    fn cut_pattern(&self) -> Option<Vec<u8>> {
        self.cut_on
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running proxy on `127.0.0.1`; dropping it stops it and closes its connections.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1:0` that forwards each connection to
    /// `target`, holding every chunk `delay` in each direction.
    pub fn start(target: impl ToSocketAddrs, delay: Duration) -> io::Result<Proxy> {
        let target = target
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no target address"))?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        thread::Builder::new()
            .name("proxy-accept".to_owned())
            .spawn(move || accept(&listener, target, delay, &accepting))?;
        Ok(Proxy { addr, shared })
    }

    /// Returns the address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the port clients connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Returns the round trips counted so far, over every connection.
    pub fn round_trips(&self) -> u64 {
        self.shared.round_trips.load(Ordering::SeqCst)
    }

    /// Returns how many connections were accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Drops, from now on, every connection whose client sends `pattern`
    /// (within one read), before those bytes reach the server; None stops it.
    pub fn cut_on(&self, pattern: Option<&[u8]>) {
        *self
            .shared
            .cut_on
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = pattern.map(<[u8]>::to_vec);
    }

    /// Returns how many connections a cut dropped.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // The accept loop wakes on a connection and then sees the flag.
        let _ = TcpStream::connect(self.addr);
        let sockets = std::mem::take(
            &mut *self
                .shared
                .sockets
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for socket in sockets {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, target: SocketAddr, delay: Duration, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let shared = Arc::clone(shared);
        // A connection that cannot be set up is closed; the client sees why.
        let _ = thread::Builder::new()
            .name("proxy-conn".to_owned())
            .spawn(move || {
                let _ = connection(client, target, delay, &shared);
            });
    }
}

/// Sets up one connection's two directions and waits for both to end.
fn connection(
    client: TcpStream,
    target: SocketAddr,
    delay: Duration,
    shared: &Arc<Shared>,
) -> io::Result<()> {
    let server = TcpStream::connect(target)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    shared.connections.fetch_add(1, Ordering::SeqCst);
    {
        let mut sockets = shared
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sockets.push(client.try_clone()?);
        sockets.push(server.try_clone()?);
    }
    // Set when the server's bytes are handed to the client, so that the
    // client's next bytes open a new round trip; the first bytes do too.
    let replied = Arc::new(AtomicBool::new(true));
    let upstream = {
        let (from, to) = (client.try_clone()?, server.try_clone()?);
        let (shared, replied) = (Arc::clone(shared), Arc::clone(&replied));
        let peers = vec![client.try_clone()?, server.try_clone()?];
        thread::Builder::new()
            .name("proxy-up".to_owned())
            .spawn(move || {
                pump(
                    from,
                    to,
                    delay,
                    &peers,
                    |bytes| {
                        if let Some(pattern) = shared.cut_pattern() {
                            if contains(bytes, &pattern) {
                                shared.cuts.fetch_add(1, Ordering::SeqCst);
                                return Verdict::Cut;
                            }
                        }
                        if replied.swap(false, Ordering::SeqCst) {
                            shared.round_trips.fetch_add(1, Ordering::SeqCst);
                        }
                        Verdict::Forward
                    },
                    || {},
                )
            })?
    };
    let peers = vec![client.try_clone()?, server.try_clone()?];
    pump(
        server,
        client,
        delay,
        &peers,
        |_| Verdict::Forward,
        move || {
            replied.store(true, Ordering::SeqCst);
        },
    );
    let _ = upstream.join();
    Ok(())
}

/// What to do with a chunk read from one side.
enum Verdict {
    Forward,
    Cut,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Copies `from` to `to` until either side ends, holding each chunk `delay`;
/// `inspect` sees each chunk as it is read, `before_write` runs just before
/// a chunk is written. Ends by shutting down both sockets of the connection.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Duration,
    peers: &[TcpStream],
    mut inspect: impl FnMut(&[u8]) -> Verdict,
    before_write: impl Fn() + Send + 'static,
) {
    let mut buffer = vec![0u8; CHUNK];
    if delay.is_zero() {
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let Some(bytes) = buffer.get(..n) else { break };
            if let Verdict::Cut = inspect(bytes) {
                break;
            }
            before_write();
            if to.write_all(bytes).is_err() {
                break;
            }
        }
    } else {
        // A writer thread keeps the latency per chunk, as a network does:
        // chunks in flight do not wait for each other.
        let (sender, receiver) = mpsc::channel::<(Instant, Vec<u8>)>();
        let writer = thread::Builder::new()
            .name("proxy-delay".to_owned())
            .spawn(move || {
                for (due, bytes) in receiver {
                    let now = Instant::now();
                    if due > now {
                        thread::sleep(due - now);
                    }
                    before_write();
                    if to.write_all(&bytes).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
            });
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let Some(bytes) = buffer.get(..n) else { break };
            if let Verdict::Cut = inspect(bytes) {
                break;
            }
            if sender
                .send((Instant::now() + delay, bytes.to_vec()))
                .is_err()
            {
                break;
            }
        }
        drop(sender);
        if let Ok(writer) = writer {
            let _ = writer.join();
        }
    }
    for socket in peers {
        let _ = socket.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers each line with one line, after reading it whole.
    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                thread::spawn(move || {
                    let mut buffer = [0u8; 1024];
                    let mut pending = Vec::new();
                    loop {
                        let n = match stream.read(&mut buffer) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        pending.extend_from_slice(&buffer[..n]);
                        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                            let line: Vec<u8> = pending.drain(..=end).collect();
                            if stream.write_all(&line).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    fn read_lines(stream: &mut TcpStream, lines: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buffer = [0u8; 1024];
        while got.iter().filter(|&&b| b == b'\n').count() < lines {
            let n = stream.read(&mut buffer).unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buffer[..n]);
        }
        got
    }

    #[test]
    fn sequential_requests_are_round_trips_and_a_pipelined_burst_is_one() {
        let proxy = Proxy::start(echo_server(), Duration::ZERO).unwrap();
        let mut client = TcpStream::connect(proxy.addr()).unwrap();
        for i in 0..3 {
            client.write_all(format!("ping {i}\n").as_bytes()).unwrap();
            assert_eq!(read_lines(&mut client, 1), format!("ping {i}\n").as_bytes());
        }
        assert_eq!(proxy.round_trips(), 3);
        client.write_all(b"a\nb\nc\n").unwrap();
        assert_eq!(read_lines(&mut client, 3), b"a\nb\nc\n");
        assert_eq!(proxy.round_trips(), 4);
        assert_eq!(proxy.connections(), 1);
    }

    #[test]
    fn the_delay_holds_each_direction() {
        let delay = Duration::from_millis(30);
        let proxy = Proxy::start(echo_server(), delay).unwrap();
        let mut client = TcpStream::connect(proxy.addr()).unwrap();
        let started = Instant::now();
        client.write_all(b"x\n").unwrap();
        read_lines(&mut client, 1);
        assert!(started.elapsed() >= delay * 2, "{:?}", started.elapsed());
        assert_eq!(proxy.round_trips(), 1);
    }

    #[test]
    fn a_cut_drops_the_connection_before_the_bytes_go_on() {
        let proxy = Proxy::start(echo_server(), Duration::ZERO).unwrap();
        proxy.cut_on(Some(b"boom"));
        let mut client = TcpStream::connect(proxy.addr()).unwrap();
        client.write_all(b"fine\n").unwrap();
        read_lines(&mut client, 1);
        client.write_all(b"boom\n").unwrap();
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest);
        assert!(rest.is_empty());
        assert_eq!(proxy.cuts(), 1);
    }
}
