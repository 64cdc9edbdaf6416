//! Small helpers shared by gen_server, gen_statem, task, registry and pg:
//! forgetting a monitor in O(1).

use std::time::Duration;

use bream::receive;

/// `demonitor(monitor, flush = true)` in O(1) behind a backlog: the monitor
/// was made after the marker `tag` (the latest `make_ref` of this process, or
/// a full scan if not), so its `Down` can only be found after that marker.
/// After `demonitor` returns, a `Down` not yet in the mailbox is dropped by
/// the runtime (the same trick as gen_server's call).
pub(crate) fn forget_monitor(monitor: bream::MonitorRef, tag: bream::Ref) {
    bream::demonitor(monitor, false);
    receive! { marker tag;
        d: bream::Down if d.monitor == monitor => (),
        after Duration::ZERO => (),
    }
}
