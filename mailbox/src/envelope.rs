//! The message block: one heap allocation holding a queue header and the payload.
//!
//! ```text
//!            one allocation (Layout of Node<T>, repr(C))
//!  ┌──────────────────────────────────────────────┬───────────────────────┐
//!  │ Header                                       │ payload: T            │
//!  │  next:   AtomicPtr<Header>  (queue link)     │  (MaybeUninit; valid  │
//!  │  vtable: &'static VTable    (T's type facts) │   iff `full`)         │
//!  │  full:   bool               (payload present)│                       │
//!  └──────────────────────────────────────────────┴───────────────────────┘
//!   ▲ Envelope / queue links point here           ▲ header + vtable.offset
//! ```
//!
//! The queues only ever see `*mut Header`: the payload's type is erased into the
//! vtable (its `TypeId`, name, layout, payload offset and drop function), which is
//! a `&'static` constant per type, so the header stays three words. The same
//! `next` field serves first as the inbound (Vyukov) link, written by producers,
//! and later as the receiver-private save-queue link: a node is in at most one
//! queue at a time.
//!
//! An [`Envelope`] owns one block. It may be *empty* after [`Envelope::take`]:
//! the block (and its type) stay, the value is gone, and [`Envelope::put`] can
//! refill it with a value of the same type. Empty envelopes are never messages:
//! the mailbox drops them instead of queueing or returning them.

use core::alloc::Layout;
use core::any::TypeId;
use core::fmt;
use core::mem::{self, ManuallyDrop, MaybeUninit};
use core::ptr::{self, NonNull};

use crate::sync::{alloc, dealloc, AtomicPtr};

/// What the mailbox knows about a payload type, one `&'static` constant per type.
pub(crate) struct VTable {
    /// `TypeId::of::<T>` (a function: `TypeId::of` is not `const` on our MSRV).
    type_id: fn() -> TypeId,
    /// `core::any::type_name::<T>`, for Debug and panic messages.
    type_name: fn() -> &'static str,
    /// Layout of the whole block (`Node<T>`).
    layout: Layout,
    /// Byte offset of the payload from the start of the block.
    offset: usize,
    /// `size_of::<T>()` (the block's layout may round it up).
    size: usize,
    /// Drops the payload in place; called only on a full block.
    drop_payload: unsafe fn(*mut u8),
}

/// The common prefix of every block, and the node type of both queues.
///
/// `repr(C)` so a `*mut Node<T>` may be used as a `*mut Header`.
#[repr(C)]
pub(crate) struct Header {
    /// The queue link. In the inbound queue: written by the producer that pushes
    /// the next node (Release) and read by the receiver (Acquire). Once the
    /// receiver has popped the node it is the only one that touches it, and uses
    /// the field as the save-queue link (Relaxed).
    pub(crate) next: AtomicPtr<Header>,
    /// The payload's type facts. Written once, at allocation.
    vtable: &'static VTable,
    /// Whether the payload is present. Touched only by the block's owner: the
    /// [`Envelope`] holder, or the receiver while the block is queued.
    full: bool,
    /// A priority message (sent through a priority alias): written by the
    /// sender before the push, read by the receiver after its pop (the push's
    /// Release publishes it). In what was padding: the header stays 3 words.
    pub(crate) priority: bool,
}

/// The concrete block for payload type `T`.
#[repr(C)]
struct Node<T> {
    header: Header,
    value: MaybeUninit<T>,
}

/// Holds the vtable constant for `T`.
struct VTableOf<T>(core::marker::PhantomData<T>);

impl<T: 'static> VTableOf<T> {
    const V: &'static VTable = &VTable {
        type_id: TypeId::of::<T>,
        type_name: core::any::type_name::<T>,
        layout: Layout::new::<Node<T>>(),
        offset: mem::offset_of!(Node<T>, value),
        size: mem::size_of::<T>(),
        drop_payload: drop_payload::<T>,
    };
}

/// # Safety
/// `p` points to a valid, initialized `T` that is not used afterwards.
unsafe fn drop_payload<T>(p: *mut u8) {
    // SAFETY: the caller's contract.
    unsafe { ptr::drop_in_place(p.cast::<T>()) }
}

/// The stub node's vtable: a type nobody can name, so it never matches.
struct Stub;

impl Header {
    /// A payload-less header for the inbound queue's stub node.
    pub(crate) fn stub() -> Header {
        Header {
            next: AtomicPtr::new(ptr::null_mut()),
            vtable: VTableOf::<Stub>::V,
            full: false,
            priority: false,
        }
    }
}

/// Whether `vt` describes `T`. Pointer equality is a fast path (equal pointers
/// mean equal contents, so the same `type_id` function); the `TypeId` compare is
/// the truth, since a vtable constant may be duplicated across codegen units.
fn is_type<T: 'static>(vt: &'static VTable) -> bool {
    ptr::eq(vt, VTableOf::<T>::V) || (vt.type_id)() == TypeId::of::<T>()
}

/// Frees a block: drops the payload if present, then the header, then the memory.
///
/// # Safety
/// `h` was allocated by [`Envelope::new`], is owned by the caller, and is not used
/// afterwards (it is in no queue and no `Envelope` refers to it).
pub(crate) unsafe fn free(h: NonNull<Header>) {
    /// Releases the memory even if the payload's `Drop` panics.
    struct Dealloc(*mut u8, Layout);
    impl Drop for Dealloc {
        fn drop(&mut self) {
            // SAFETY: `self.0` was allocated with layout `self.1` (the block's own
            // vtable layout) and, by `free`'s contract, nothing uses it any more.
            unsafe { dealloc(self.0, self.1) }
        }
    }
    let h = h.as_ptr();
    // SAFETY: `h` is a live block owned by the caller (contract), so its header
    // is initialized; `vtable` is never written after allocation.
    let vt = unsafe { (*h).vtable };
    let _dealloc = Dealloc(h.cast(), vt.layout);
    // SAFETY: as above; `full` says whether the payload at `offset` is valid, and
    // the caller gives up the block, so the payload is dropped exactly once.
    unsafe {
        let full = (*h).full;
        ptr::drop_in_place(h); // the header (loom's atomics have drop glue)
        if full {
            (vt.drop_payload)(h.cast::<u8>().add(vt.offset));
        }
    }
}

/// One type-erased message: a `Send + 'static` value in its own heap block.
///
/// An envelope is what the mailbox stores and what [`Receiver::select`] shows its
/// matcher. The payload can be inspected ([`is`], [`downcast_ref`]), moved out
/// ([`downcast`], [`take`]) and, after a `take`, moved back in ([`put`]) without a
/// new allocation.
///
/// ```
/// use bream_mailbox::Envelope;
///
/// let mut env = Envelope::new(String::from("ping"));
/// assert!(env.is::<String>());
/// assert_eq!(env.downcast_ref::<u32>(), None);
///
/// let s = env.take::<String>().unwrap();     // the envelope is now empty
/// assert!(env.is_empty() && !env.is::<String>());
/// env.put(s + "!");                           // refill it, same block
/// assert_eq!(env.downcast::<String>().unwrap(), "ping!");
/// ```
///
/// # Send
///
/// `Envelope` is `Send` (its payload is `Send`) but not `Sync`: `downcast_ref`
/// hands out `&T`, and `T` need not be `Sync`.
///
/// [`Receiver::select`]: crate::Receiver::select
/// [`is`]: Envelope::is
/// [`downcast_ref`]: Envelope::downcast_ref
/// [`downcast`]: Envelope::downcast
/// [`take`]: Envelope::take
/// [`put`]: Envelope::put
pub struct Envelope {
    /// The block this envelope owns exclusively.
    ptr: NonNull<Header>,
}

// SAFETY: an `Envelope` is the unique owner of its block (no queue and no other
// `Envelope` points to it), so moving it to another thread moves the whole block.
// The payload is `Send` (`new` and `put` require `T: Send`), and the header holds
// only an atomic, a `&'static VTable` (fn pointers and plain data) and a bool.
// Not `Sync` (the default for `NonNull`): `downcast_ref` would share `&T` across
// threads, and `T` need not be `Sync`.
unsafe impl Send for Envelope {}

impl Envelope {
    /// Puts `v` in a new envelope: one allocation, header and payload together.
    ///
    /// ```
    /// let env = bream_mailbox::Envelope::new(42u64);
    /// assert_eq!(env.downcast::<u64>().ok(), Some(42));
    /// ```
    pub fn new<T: Send + 'static>(v: T) -> Self {
        let vt = VTableOf::<T>::V;
        // SAFETY: the layout has non-zero size (it contains a `Header`).
        let raw = unsafe { alloc(vt.layout) }.cast::<Node<T>>();
        let Some(ptr) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(vt.layout)
        };
        let node = Node {
            header: Header {
                next: AtomicPtr::new(ptr::null_mut()),
                vtable: vt,
                full: true,
                priority: false,
            },
            value: MaybeUninit::new(v),
        };
        // SAFETY: `ptr` is fresh memory with the layout of `Node<T>`.
        unsafe { ptr.as_ptr().write(node) };
        Envelope { ptr: ptr.cast() }
    }

    /// True if the envelope holds a value of type `T` (false when empty).
    pub fn is<T: 'static>(&self) -> bool {
        let (vt, full) = self.facts();
        full && is_type::<T>(vt)
    }

    /// Marks the message as a priority message: a receiver that enabled
    /// priority ([`Receiver::enable_priority`](crate::Receiver::enable_priority))
    /// sees it before every ordinary message it has not received yet; any
    /// other receiver treats it as ordinary.
    pub fn set_priority(&mut self, on: bool) {
        // SAFETY: we own the block; its header is initialized.
        unsafe { (*self.ptr.as_ptr()).priority = on };
    }

    /// Whether [`set_priority`](Envelope::set_priority) marked it.
    pub fn is_priority(&self) -> bool {
        // SAFETY: as in `set_priority`.
        unsafe { (*self.ptr.as_ptr()).priority }
    }

    /// The payload's size in bytes (`size_of` of its type, as the sender
    /// sized it; not what it owns on the heap).
    pub fn payload_size(&self) -> usize {
        self.facts().0.size
    }

    /// True after a [`take`](Envelope::take) that was not followed by a `put`.
    pub fn is_empty(&self) -> bool {
        !self.facts().1
    }

    /// The name of the payload type (`core::any::type_name`), for diagnostics.
    pub fn type_name(&self) -> &'static str {
        (self.facts().0.type_name)()
    }

    /// The payload, if the envelope holds a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        if !self.is::<T>() {
            return None;
        }
        // SAFETY: the block is a `Node<T>` (type checked) whose payload is
        // initialized (`full`); the borrow of `self` keeps it alive and unmoved,
        // and no `&mut` to it can exist while `&self` is held.
        Some(unsafe { &*self.payload().cast::<T>() })
    }

    /// The payload by value if it is a `T` (the block is freed), else `Err(self)`.
    pub fn downcast<T: 'static>(mut self) -> Result<T, Self> {
        match self.take::<T>() {
            Some(v) => Ok(v),
            None => Err(self),
        }
    }

    /// Moves the payload out if it is a `T`, leaving the envelope empty.
    ///
    /// Returns `None` (and changes nothing) if the payload is not a `T` or the
    /// envelope is already empty.
    pub fn take<T: 'static>(&mut self) -> Option<T> {
        if !self.is::<T>() {
            return None;
        }
        // SAFETY: type checked and full, as in `downcast_ref`; `full` is cleared
        // before anyone can observe the block again, so the value is read (moved
        // out) exactly once and never dropped by `free`.
        unsafe {
            (*self.ptr.as_ptr()).full = false;
            Some(self.payload().cast::<T>().read())
        }
    }

    /// Refills an envelope emptied by [`take::<T>`](Envelope::take).
    ///
    /// # Panics
    ///
    /// If the envelope is full, or was made for a type other than `T`: both are
    /// programming errors (the block has room for exactly one value of its own
    /// type). The envelope is unchanged and `v` is dropped.
    pub fn put<T: Send + 'static>(&mut self, v: T) {
        let (vt, full) = self.facts();
        assert!(
            !full,
            "Envelope::put::<{}>: the envelope is full (put only after take)",
            core::any::type_name::<T>()
        );
        assert!(
            is_type::<T>(vt),
            "Envelope::put::<{}>: this envelope was made for {}",
            core::any::type_name::<T>(),
            (vt.type_name)()
        );
        // SAFETY: the block is a `Node<T>` (checked) with no live payload (not
        // full), so writing a `T` at the payload offset initializes it; `full`
        // then records it for `free`.
        unsafe {
            self.payload().cast::<T>().write(v);
            (*self.ptr.as_ptr()).full = true;
        }
    }

    /// Gives up ownership of the block without freeing it.
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).ptr
    }

    /// Takes ownership of a block.
    ///
    /// # Safety
    /// `ptr` was allocated by [`Envelope::new`] and the caller owns it: it is in no
    /// queue and no other `Envelope` refers to it.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Self {
        Envelope { ptr }
    }

    fn facts(&self) -> (&'static VTable, bool) {
        // SAFETY: we own a live block; its header is initialized.
        unsafe { ((*self.ptr.as_ptr()).vtable, (*self.ptr.as_ptr()).full) }
    }

    fn payload(&self) -> *mut u8 {
        let (vt, _) = self.facts();
        // SAFETY: `offset` lies inside the block's allocation (it is the payload
        // field's offset within `Node<T>`, whose layout we allocated).
        unsafe { self.ptr.as_ptr().cast::<u8>().add(vt.offset) }
    }
}

impl Drop for Envelope {
    fn drop(&mut self) {
        // SAFETY: the envelope owns its block exclusively and is going away.
        unsafe { free(self.ptr) }
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("type", &self.type_name())
            .field("empty", &self.is_empty())
            .finish()
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;

    #[test]
    fn zero_sized_and_over_aligned_payloads_round_trip() {
        #[repr(align(64))]
        #[derive(Debug, PartialEq)]
        struct Big(u8);
        assert_eq!(Envelope::new(()).downcast::<()>().ok(), Some(()));
        assert_eq!(Envelope::new(Big(7)).downcast::<Big>().ok(), Some(Big(7)));
    }

    #[test]
    fn take_on_wrong_type_or_empty_changes_nothing() {
        let mut e = Envelope::new(5u8);
        assert_eq!(e.take::<u16>(), None);
        assert_eq!(e.take::<u8>(), Some(5));
        assert_eq!(e.take::<u8>(), None);
        assert!(e.downcast::<u8>().is_err());
    }

    #[test]
    #[should_panic(expected = "was made for u8")]
    fn put_of_another_type_panics_clearly() {
        let mut e = Envelope::new(5u8);
        e.take::<u8>();
        e.put(5u16);
    }

    #[test]
    #[should_panic(expected = "is full")]
    fn put_into_a_full_envelope_panics_clearly() {
        Envelope::new(5u8).put(6u8);
    }

    #[test]
    fn header_is_three_words() {
        assert_eq!(mem::size_of::<Header>(), 3 * mem::size_of::<usize>());
    }
}
