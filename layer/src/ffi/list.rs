// SPDX-License-Identifier: GPL-2.0-or-later
//! QAPI lists built in glib memory (`List`, `ListNode`).

#[allow(unused_imports)]
use super::*;

/// A node type of a QAPI list (C `FooList`: `next` and `value`). The generated code
/// implements it for each list type a declaration uses.
///
/// # Safety
/// `next` returns the address of the node's own `next` field, `set` stores a value QEMU's
/// `qapi_free_<List>` can free, and `free` is that function: [`List`]'s safe methods
/// write and free through them.
pub unsafe trait ListNode: Sized {
    /// An element's Rust value.
    type Value;
    /// Stores `v` as the node's value.
    ///
    /// # Safety
    /// `node` is a zeroed node of the caller's, not yet in any list QEMU sees.
    unsafe fn set(node: *mut Self, v: Self::Value);
    /// The node's `next` field.
    ///
    /// # Safety
    /// `node` is a valid node.
    unsafe fn next(node: *mut Self) -> *mut *mut Self;
    /// Frees a whole list with QEMU's `qapi_free_<List>`.
    ///
    /// # Safety
    /// `list` is a list built by [`List`], owned by the caller.
    unsafe fn free(list: *mut Self);
    /// What in `v` cannot reach the client unchanged (see [`Ret::fault`]).
    fn fault(v: &Self::Value) -> Option<Fault> {
        let _ = v;
        None
    }
}

/// A QAPI list built in glib memory, in the order values are pushed (the generated
/// `qapi::FooList` is `List<bindings::FooList>`). Returned by a command, or held by a
/// returned struct, it is QEMU's to free; dropped otherwise, QEMU's `qapi_free_<List>`
/// frees it here.
pub struct List<N: ListNode> {
    head: *mut N,
    tail: *mut N,
    len: usize,
    /// The first pushed value that cannot reach the client unchanged, by its index
    /// (values become C as they are pushed, so they are checked then).
    fault: Option<Fault>,
}

impl<N: ListNode> List<N> {
    /// The empty list (NULL to QEMU).
    pub const fn new() -> Self {
        List { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0, fault: None }
    }

    /// Appends `v`.
    pub fn push(&mut self, v: N::Value) {
        if self.fault.is_none() {
            self.fault = N::fault(&v).map(|f| f.at_index(self.len));
        }
        let node = g_new0::<N>();
        // SAFETY: `node` is zeroed and ours alone.
        unsafe { N::set(node, v) };
        if self.tail.is_null() {
            self.head = node;
        } else {
            // SAFETY: `tail` is the last node of this list, valid and ours.
            unsafe { *N::next(self.tail) = node };
        }
        self.tail = node;
        self.len = self.len.wrapping_add(1);
    }

    /// How many values were pushed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The C list, still owned by `self` (an event sender's argument: QEMU's sender
    /// reads it and keeps nothing).
    pub fn as_ptr(&self) -> *mut N {
        self.head
    }

    /// The C list, handed over to QEMU (a leak unless QEMU frees it).
    pub fn into_raw(self) -> *mut N {
        let head = self.head;
        core::mem::forget(self);
        head
    }
}

impl<N: ListNode> Drop for List<N> {
    fn drop(&mut self) {
        if !self.head.is_null() {
            // SAFETY: the nodes were built by `push` and never handed over.
            unsafe { N::free(self.head) };
        }
    }
}

impl<N: ListNode> Default for List<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: ListNode> core::fmt::Debug for List<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "List({} values)", self.len)
    }
}

impl<N: ListNode> Extend<N::Value> for List<N> {
    fn extend<I: IntoIterator<Item = N::Value>>(&mut self, values: I) {
        for v in values {
            self.push(v);
        }
    }
}

impl<N: ListNode> FromIterator<N::Value> for List<N> {
    fn from_iter<I: IntoIterator<Item = N::Value>>(values: I) -> Self {
        let mut list = Self::new();
        list.extend(values);
        list
    }
}

impl<N: ListNode> From<Vec<N::Value>> for List<N> {
    /// The values in order. QEMU's lists are linked, so each value moves into a node of
    /// its own (the values themselves are not copied).
    fn from(values: Vec<N::Value>) -> Self {
        values.into_iter().collect()
    }
}

// SAFETY: the nodes come from glib (`g_new0`) and hold what `ListNode::set` stores,
// which its implementation guarantees QEMU can free.
unsafe impl<N: ListNode> Ret for List<N> {
    type C = *mut N;
    fn into_c(self) -> *mut N {
        self.into_raw()
    }
    fn failed() -> *mut N {
        ptr::null_mut()
    }
    fn fault(&self) -> Option<Fault> {
        self.fault.clone()
    }
}
