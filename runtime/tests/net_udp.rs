//! `bream::net::UdpSocket` from processes, on 127.0.0.1: a round trip
//! between two processes, connected sockets, ownership (timeouts: net_timeouts.rs).

use std::net::SocketAddr;

use bream::net::UdpSocket;

#[test]
fn udp_round_trip_between_two_processes() {
    bream::run(|| {
        let main = bream::self_pid();
        // An echo process with a socket of its own.
        bream::spawn(move || {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            bream::send(main, s.local_addr().unwrap());
            let mut buf = [0u8; 1500];
            for _ in 0..100 {
                let (n, from) = s.recv_from(&mut buf).unwrap(); // parks until a datagram
                s.send_to(&buf[..n], from).unwrap();
            }
        });
        let server: SocketAddr = bream::receive();
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.connect(server).unwrap();
        for i in 0..100u8 {
            let msg = [i; 64];
            s.send(&msg).unwrap();
            let mut back = [0u8; 128];
            let n = s.recv(&mut back).unwrap();
            assert_eq!(&back[..n], &msg);
        }
    });
}
