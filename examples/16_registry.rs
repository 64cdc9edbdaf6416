//! Chapter 16: names and groups — a Registry of chat rooms, servers named by
//! Registry keys, pub/sub with a duplicate registry, and pg groups.
//!
//! What it teaches: Elixir's `Registry` with unique keys as a name registry for
//! gen_servers (`Name::via`, `start_link_named`, `NamedRef`), so each chat room
//! is a server found by its name, a `String`; a duplicate registry as a pub/sub
//! topic with `dispatch`; entries that vanish when their process exits; and
//! OTP's `pg` groups with a scope monitor that reports joins and leaves.
//!
//! What it prints: the rooms and their message counts, what each subscriber
//! received, how the registries shrink as processes exit, and the pg events.
//!
//! Run: `cargo run -p bream-stdlib --example 16_registry`

use std::time::Duration;

use bream::ExitReason;
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, NamedRef, Next, ReplyTo};
use bream_stdlib::name::Name;
use bream_stdlib::pg::{Event, Scope};
use bream_stdlib::registry::{Keys, Registry};

const PATIENCE: Duration = Duration::from_secs(5);

/// A chat room: counts the messages posted to it.
struct Room {
    posts: u64,
}

impl GenServer for Room {
    type Args = ();
    type Call = ();
    type Reply = u64;
    type Cast = String;
    type Info = ();
    type Continue = ();

    fn init((): ()) -> Init<Self> {
        Init::Ready(Room { posts: 0 }, Next::Wait)
    }

    fn handle_call(&mut self, (): (), _from: ReplyTo<u64>) -> CallResult<Self> {
        CallResult::reply(self.posts)
    }

    fn handle_cast(&mut self, _post: String) -> Next<Self> {
        self.posts += 1;
        Next::Wait
    }
}

fn main() {
    bream::run(|| {
        // Rooms are gen_servers named by a String key in a unique Registry.
        let rooms: Registry<String> = Registry::new(Keys::Unique).start_link().unwrap();
        for name in ["lobby", "rust", "erlang"] {
            let via = Name::via(&rooms, name.to_string());
            gen_server::start_link_named::<Room>(via, ()).unwrap();
        }
        for (room, posts) in [("lobby", 3), ("rust", 5), ("erlang", 2)] {
            let room = NamedRef::<Room>::new(Name::via(&rooms, room.to_string()));
            for i in 0..posts {
                gen_server::cast(&room, format!("message {i}"));
            }
        }
        for room in ["lobby", "rust", "erlang"] {
            let by_name = NamedRef::<Room>::new(Name::via(&rooms, room.to_string()));
            let posts = gen_server::call(&by_name, (), PATIENCE).unwrap();
            println!(
                "room {room:>6}: {posts} posts, pid {:?}",
                by_name.pid().unwrap()
            );
        }
        let taken = gen_server::start_named::<Room>(Name::via(&rooms, "rust".to_string()), ());
        println!("starting a second \"rust\" room: {taken:?}");

        // Pub/sub: subscribers register a topic in a duplicate registry.
        let topics: Registry<&str, u32> = Registry::new(Keys::Duplicate).start_link().unwrap();
        let me = bream::self_pid();
        let subscribers: Vec<_> = (0..3u32)
            .map(|id| {
                let topics = topics.clone();
                bream::spawn_monitor(move || {
                    topics.register("news", id).unwrap();
                    bream::send(me, id);
                    let headline: String = bream::receive();
                    println!("subscriber {id} got {headline:?}");
                    bream::send(me, id);
                })
            })
            .collect();
        for _ in &subscribers {
            bream::receive_timeout::<u32>(PATIENCE).unwrap();
        }
        println!("news has {} subscribers", topics.lookup(&"news").len());
        topics.dispatch(&"news", |subs| {
            for (pid, _id) in subs {
                bream::send(*pid, String::from("bream ships Registry"));
            }
        });
        for _ in &subscribers {
            bream::receive_timeout::<u32>(PATIENCE).unwrap();
            bream::receive_timeout::<bream::Down>(PATIENCE).unwrap();
        }
        // Their entries went with them (the lookup never shows dead pids).
        println!(
            "after they exited, news has {} subscribers",
            topics.lookup(&"news").len()
        );

        // pg: a scope of groups, watched by a scope monitor.
        let scope: Scope<&str> = Scope::start_link().unwrap();
        let (watch, _groups) = scope.monitor_scope().unwrap();
        let worker = bream::spawn(|| {
            bream::receive::<()>();
        });
        scope.join("workers", &[worker, me]);
        println!("workers: {:?}", scope.get_members(&"workers"));
        bream::exit(worker, ExitReason::Kill);
        for _ in 0..2 {
            let event: Event<&str> = bream::receive_timeout(PATIENCE).unwrap();
            assert_eq!(event.monitor, watch);
            println!(
                "pg event: {:?} {:?} {:?}",
                event.change, event.group, event.pids
            );
        }
        println!("workers now: {:?}", scope.get_members(&"workers"));
    });
}
