//! The tokio peer of the `echo` workload (benches/peers/echo/README.md): an
//! echo server with a task per connection, on tokio's multi-threaded
//! runtime with one worker per core (its default).
//!
//! `bream-peer-echo-tokio PORT [WORKERS]` prints "listening PORT" once it
//! accepts, then serves until killed.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = args.next().and_then(|a| a.parse().ok()) {
        rt.worker_threads(w);
    }
    rt.enable_io().build().unwrap().block_on(serve(port));
}

async fn serve(port: u16) {
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_reuseaddr(true).unwrap();
    sock.bind(([127, 0, 0, 1], port).into()).unwrap();
    // The same backlog as the other servers (Linux's somaxconn default).
    let listener = sock.listen(4096).unwrap();
    println!("listening {}", listener.local_addr().unwrap().port());
    loop {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}
