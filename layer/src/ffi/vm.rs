// SPDX-License-Identifier: GPL-2.0-or-later
//! The VM a command runs in: what QEMU's own queries report (`query-name`, `query-uuid`,
//! `query-status`, `query-memory-size-summary`, `query-cpus-fast`), and its character
//! devices to write to. Every function takes the call's [`Bql`] token, the proof that
//! the calling thread holds QEMU's big lock (every QMP command but an `allow-oob` one,
//! and every HMP command, gets one); each returns owned values, so nothing it gives can
//! outlive what it was read from. Release differences (header moves,
//! renamed globals, the vCPU list) are the layer's, in `src/vm.c`.

use super::*;

/// Why the VM's state could not be read or a device written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmError {
    /// QEMU reported a run state its schema does not have (never seen; a guard).
    UnknownRunState(u32),
    /// No character device has this id (QEMU's own wording, as `ringbuf-write` says it).
    ChardevNotFound(String),
    /// The device took fewer bytes than it was given (`written` of `len`).
    ChardevShortWrite {
        /// The device's id.
        id: String,
        /// The bytes it took.
        written: usize,
        /// The bytes it was given.
        len: usize,
    },
    /// The device refused the write. (QEMU's chardev layer reports no cause: its
    /// I/O channel writes turn every error into EINVAL.)
    ChardevWriteFailed(String),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::UnknownRunState(s) => write!(f, "QEMU reported the unknown run state {s}"),
            VmError::ChardevNotFound(id) => write!(f, "Device '{id}' not found"),
            VmError::ChardevShortWrite { id, written, len } => {
                write!(f, "Device '{id}' took {written} of {len} bytes")
            }
            VmError::ChardevWriteFailed(id) => write!(f, "Device '{id}' refused the write"),
        }
    }
}

impl From<VmError> for CommandError {
    #[track_caller]
    fn from(e: VmError) -> CommandError {
        CommandError::new(e)
    }
}

/// A string QEMU gave us with `g_malloc`, taken over as it is when it is UTF-8 (a
/// [`GString`] QEMU can be handed back without a copy), else copied with U+FFFD for
/// the bad bytes and freed.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string from glib's allocator, ours to free.
unsafe fn take_string(p: *mut c_char) -> GString {
    if p.is_null() {
        return GString::new("");
    }
    // SAFETY: `p` is NUL-terminated and valid (our contract).
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    if core::str::from_utf8(bytes).is_ok() {
        // SAFETY: `p` is glib's (our contract), `bytes.len()` bytes of UTF-8 (checked just
        // now) and a NUL, and is ours to give away.
        return unsafe { GString::from_raw(p, bytes.len()) };
    }
    let copy = GString::new(&String::from_utf8_lossy(bytes));
    // SAFETY: `p` is ours, from glib, freed once here.
    unsafe { bindings::g_free(p.cast()) };
    copy
}

/// The guest name given with `-name` (`query-name`'s `name`), if any: one copy in glib
/// memory, as QEMU's own `g_strdup(qemu_name)` makes (bytes that are not UTF-8 become
/// U+FFFD).
pub fn name(_bql: Bql<'_>) -> Result<Option<GString>, VmError> {
    // SAFETY: the token proves the BQL is held; the function reads a global.
    let p = unsafe { bindings::qemu_monitor_layer_vm_name() };
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: qemu_name is NUL-terminated, QEMU's, alive until exit; copied here.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    Ok(Some(match core::str::from_utf8(bytes) {
        Ok(s) => GString::new(s),
        Err(_) => GString::new(&String::from_utf8_lossy(bytes)),
    }))
}

/// The VM's UUID as `query-uuid` prints it (all zeros when `-uuid` was not given).
pub fn uuid(_bql: Bql<'_>) -> Result<GString, VmError> {
    // SAFETY: the BQL is held; the result is a g_malloc'd string we own.
    Ok(unsafe { take_string(bindings::qemu_monitor_layer_vm_uuid()) })
}

/// The run state (`query-status`'s `status`), as the crate's `qapi::RunState`,
/// which exists when its schema includes QEMU's `run-state.json`. Any other type is
/// a compile error.
pub fn run_state<E: QemuEnum>(_bql: Bql<'_>) -> Result<E, VmError> {
    const {
        assert!(
            same(E::NAME, "RunState"),
            "vm::run_state() gives QEMU's RunState: include run-state.json in the schema \
             and take it as qapi::RunState"
        )
    };
    // SAFETY: the BQL is held; the function reads QEMU's run state.
    let c = unsafe { bindings::qemu_monitor_layer_vm_run_state() };
    E::from_c_value(c).ok_or(VmError::UnknownRunState(c))
}

/// Whether the VM runs (`query-status`'s `running`).
pub fn is_running(_bql: Bql<'_>) -> Result<bool, VmError> {
    // SAFETY: the BQL is held; the function reads QEMU's run state.
    Ok(unsafe { bindings::qemu_monitor_layer_vm_running() })
}

/// The VM's memory, as `query-memory-size-summary` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Base RAM, in bytes (`-m`).
    pub base: u64,
    /// Memory in memory devices (DIMMs, virtio-mem), in bytes; `None` when the
    /// machine has no memory-device support.
    pub plugged: Option<u64>,
}

/// The VM's base and plugged memory.
pub fn memory(_bql: Bql<'_>) -> Result<Memory, VmError> {
    // SAFETY: the BQL is held; both read the machine and its memory devices.
    let (base, plugged) = unsafe {
        (bindings::qemu_monitor_layer_vm_base_memory(), bindings::qemu_monitor_layer_vm_plugged_memory())
    };
    Ok(Memory { base, plugged: (plugged != u64::MAX).then_some(plugged) })
}

/// One vCPU, as `query-cpus-fast` reports it.
#[derive(Debug)]
pub struct Cpu {
    /// `cpu-index`.
    pub index: i64,
    /// `qom-path`: the vCPU's canonical QOM path.
    pub qom_path: GString,
    /// `thread-id`: the host thread that runs it.
    pub thread_id: i64,
}

/// The vCPUs, in QEMU's order (`query-cpus-fast`'s).
pub fn cpus(bql: Bql<'_>) -> Result<Vec<Cpu>, VmError> {
    type Raw = bindings::QemuMonitorLayerCpu;
    /// Fills `buf` (at most its length) and returns how many vCPUs there are.
    fn fill(_bql: Bql<'_>, buf: &mut [Raw]) -> usize {
        // SAFETY: the token proves the BQL is held, so no vCPU is plugged or unplugged
        // meanwhile; `buf` has room for `buf.len()` entries, which the function
        // fills (at most).
        unsafe { bindings::qemu_monitor_layer_vm_cpus(buf.as_mut_ptr(), buf.len()) }
    }
    /// Frees the paths of a buffer that was too small.
    fn release(buf: &mut [Raw]) {
        for c in buf {
            // SAFETY: a path the function filled in is g_malloc'd and ours.
            unsafe { take_string(core::mem::replace(&mut c.qom_path, ptr::null_mut())) };
        }
    }
    /// Takes the filled entries over.
    fn take(filled: &[Raw]) -> Vec<Cpu> {
        filled
            .iter()
            .map(|c| Cpu {
                index: c.cpu_index,
                // SAFETY: filled in by the function: g_malloc'd, ours, taken once here
                // (the buffer is not read again).
                qom_path: unsafe { take_string(c.qom_path) },
                thread_id: c.thread_id,
            })
            .collect()
    }
    let empty = Raw { cpu_index: 0, thread_id: 0, qom_path: ptr::null_mut() };
    // A small VM's vCPUs fit on the stack: one walk of QEMU's list, no buffer allocated.
    let mut small = [empty; 8];
    let n = fill(bql, &mut small);
    if n <= small.len() {
        return Ok(take(&small[..n]));
    }
    release(&mut small);
    let mut raw = vec![empty; n];
    loop {
        let n = fill(bql, &mut raw);
        if n <= raw.len() {
            return Ok(take(&raw[..n]));
        }
        release(&mut raw);
        raw = vec![empty; n];
    }
}

/// Writes `bytes` to the character device `id` (`-chardev ...,id=ID`) as its
/// frontend's output would go (a guest serial port's backend file, a ringbuf `ringbuf-read`
/// reads). One write, which never blocks QEMU: a device that takes less (a socket
/// whose reader is slow) or nothing fails the call, with what it took.
pub fn write_chardev(_bql: Bql<'_>, id: &str, bytes: &[u8]) -> Result<(), VmError> {
    let not_found = || VmError::ChardevNotFound(id.to_string());
    // An id with a NUL names no device.
    let c_id = std::ffi::CString::new(id).map_err(|_| not_found())?;
    // SAFETY: the BQL is held; `c_id` is NUL-terminated. The device found stays
    // alive while we hold the BQL (chardev-remove needs it too) and is not kept.
    let chr = unsafe { bindings::qemu_chr_find(c_id.as_ptr()) };
    if chr.is_null() {
        return Err(not_found());
    }
    let len = c_int::try_from(bytes.len()).map_err(|_| VmError::ChardevShortWrite {
        id: id.to_string(),
        written: 0,
        len: bytes.len(),
    })?;
    // SAFETY: `chr` is a live device (above); `bytes` is valid for `len` bytes. With
    // write_all false QEMU makes one write and never waits for the device.
    let n = unsafe { bindings::qemu_chr_write(chr, bytes.as_ptr(), len, false) };
    if n < 0 {
        return Err(VmError::ChardevWriteFailed(id.to_string()));
    }
    if n != len {
        return Err(VmError::ChardevShortWrite { id: id.to_string(), written: n as usize, len: bytes.len() });
    }
    Ok(())
}
