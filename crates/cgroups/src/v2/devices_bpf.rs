//! v2 device access control: cgroup2 has no devices files; instead an eBPF
//! program of type `BPF_PROG_TYPE_CGROUP_DEVICE` attached to the cgroup is
//! asked about every device open/mknod and returns 1 (allow) or 0 (deny).
//!
//! The program is generated here from the rule list, instruction by
//! instruction, following the kernel's documented context layout:
//!
//! ```text
//! struct bpf_cgroup_dev_ctx {
//!     __u32 access_type; /* (access << 16) | type */
//!     __u32 major;
//!     __u32 minor;
//! };
//! ```
//!
//! with `type` BPF_DEVCG_DEV_BLOCK = 1 / BPF_DEVCG_DEV_CHAR = 2 and `access`
//! bits MKNOD = 1, READ = 2, WRITE = 4. Rules are checked last to first, so
//! the first hit in the program is the last matching rule; nothing matching
//! means deny.
//!
//! Kernel quirks:
//! - The verifier rejects unreachable instructions, so code after a rule
//!   that matches every request is not emitted.
//! - Programs are attached with BPF_F_ALLOW_MULTI (so a nested runtime or
//!   systemd can attach its own); a multi-attached program only ever adds
//!   restrictions, so on update the new program is attached first and the
//!   old ones detached afterwards, never leaving a window without a filter.
//! - An attached program stays alive as long as the cgroup holds it; our file
//!   descriptors can be closed right after attaching.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::device_rule::{self, DeviceKind, DeviceRule, ACC_ALL};
use crate::error::{Error, Result};

// bpf(2) commands, program and attach types, flags (include/uapi/linux/bpf.h).
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    /// `dst_reg:4, src_reg:4` bitfields.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes: class | size/op | mode/source. BPF_W (32-bit size) is 0.
const LDX_W_MEM: u8 = 0x01 | 0x60;
const ALU32_AND_K: u8 = 0x04 | 0x50;
const ALU32_RSH_K: u8 = 0x04 | 0x70;
const ALU32_MOV_X: u8 = 0x04 | 0xb0 | 0x08;
const ALU64_MOV_K: u8 = 0x07 | 0xb0;
const JMP_JEQ_K: u8 = 0x05 | 0x10;
const JMP_JNE_K: u8 = 0x05 | 0x50;
const JMP_EXIT: u8 = 0x05 | 0x90;

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;
const R6: u8 = 6;

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        // Bitfields are allocated from the low bits on little-endian targets
        // and from the high bits on big-endian ones.
        let regs = if cfg!(target_endian = "little") {
            (src << 4) | (dst & 0xf)
        } else {
            (dst << 4) | (src & 0xf)
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    #[cfg(test)]
    fn dst(&self) -> usize {
        usize::from(if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        })
    }

    #[cfg(test)]
    fn src(&self) -> usize {
        usize::from(if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        })
    }
}

/// Generates the filter for `rules` (in OCI order).
pub(crate) fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut p = vec![
        Insn::new(LDX_W_MEM, R2, R1, 0, 0),       // r2 = ctx->access_type
        Insn::new(ALU32_AND_K, R2, 0, 0, 0xffff), // r2 = type
        Insn::new(LDX_W_MEM, R3, R1, 0, 0),
        Insn::new(ALU32_RSH_K, R3, 0, 0, 16), // r3 = access
        Insn::new(LDX_W_MEM, R4, R1, 4, 0),   // r4 = major
        Insn::new(LDX_W_MEM, R5, R1, 8, 0),   // r5 = minor
    ];
    for rule in rules.iter().rev() {
        let mut block = Vec::new();
        let mut jumps = Vec::new();
        let mut skip_unless = |block: &mut Vec<Insn>, insn: Insn| {
            jumps.push(block.len());
            block.push(insn);
        };
        match rule.kind {
            DeviceKind::All => {}
            DeviceKind::Block => skip_unless(&mut block, Insn::new(JMP_JNE_K, R2, 0, 0, DEV_BLOCK)),
            DeviceKind::Char => skip_unless(&mut block, Insn::new(JMP_JNE_K, R2, 0, 0, DEV_CHAR)),
        }
        if let Some(major) = rule.major {
            skip_unless(&mut block, Insn::new(JMP_JNE_K, R4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            skip_unless(&mut block, Insn::new(JMP_JNE_K, R5, 0, 0, minor as i32));
        }
        if rule.access != ACC_ALL {
            block.push(Insn::new(ALU32_MOV_X, R6, R3, 0, 0));
            if rule.allow {
                // An allow rule must cover every requested bit: skip if any is outside.
                block.push(Insn::new(ALU32_AND_K, R6, 0, 0, !i32::from(rule.access)));
                skip_unless(&mut block, Insn::new(JMP_JNE_K, R6, 0, 0, 0));
            } else {
                // A deny rule hits if it covers any requested bit.
                block.push(Insn::new(ALU32_AND_K, R6, 0, 0, i32::from(rule.access)));
                skip_unless(&mut block, Insn::new(JMP_JEQ_K, R6, 0, 0, 0));
            }
        }
        block.push(Insn::new(ALU64_MOV_K, R0, 0, 0, i32::from(rule.allow)));
        block.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for &j in &jumps {
            block[j].off = (len - j - 1) as i16;
        }
        p.extend(block);
        if jumps.is_empty() {
            // This rule decides every request; anything after it is unreachable.
            return p;
        }
    }
    p.push(Insn::new(ALU64_MOV_K, R0, 0, 0, 0));
    p.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    p
}

#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(2) with a command-specific prefix of `union bpf_attr`. Passing only a
/// prefix is part of the ABI: the kernel treats the missing tail as zero.
fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, exclusively borrowed #[repr(C)] struct that
    // mirrors the start of `union bpf_attr` for `cmd`, and the size passed is
    // exactly its size, so the kernel reads and writes only within it. Any
    // pointers inside it (instructions, license, log buffer, id array) are
    // set by the callers to buffers that outlive this call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned_fd(raw: libc::c_long) -> OwnedFd {
    // SAFETY: the bpf(2) commands we call return a new file descriptor on
    // success, which nothing else owns.
    unsafe { OwnedFd::from_raw_fd(raw as libc::c_int) }
}

fn load(insns: &[Insn], dir: &Path) -> Result<OwnedFd> {
    // No GPL-only helpers are used, so the license does not matter to the kernel.
    const LICENSE: &[u8] = b"Apache-2.0\0";
    let mut name = [0u8; 16];
    name[..9].copy_from_slice(b"berth_dev");
    let attempt = |log: Option<&mut Vec<u8>>| {
        let (log_level, log_size, log_buf) = match log {
            Some(buf) => (1, buf.len() as u32, buf.as_mut_ptr() as u64),
            None => (0, 0, 0),
        };
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: LICENSE.as_ptr() as u64,
            log_level,
            log_size,
            log_buf,
            kern_version: 0,
            prog_flags: 0,
            prog_name: name,
            prog_ifindex: 0,
            expected_attach_type: BPF_CGROUP_DEVICE,
        };
        bpf(BPF_PROG_LOAD, &mut attr)
    };
    match attempt(None) {
        Ok(fd) => Ok(owned_fd(fd)),
        Err(err) => {
            // Load again with the verifier log on, only to explain the failure.
            let mut buf = vec![0u8; 64 * 1024];
            let log = match attempt(Some(&mut buf)) {
                Ok(fd) => {
                    drop(owned_fd(fd));
                    String::new()
                }
                Err(_) => {
                    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
                    String::from_utf8_lossy(&buf[..end]).into_owned()
                }
            };
            Err(Error::DeviceFilter {
                op: "load",
                path: dir.to_owned(),
                err,
                log,
            })
        }
    }
}

fn filter_err<'a>(op: &'static str, dir: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |err| Error::DeviceFilter {
        op,
        path: dir.to_owned(),
        err,
        log: String::new(),
    }
}

/// Ids of the device programs attached directly to the cgroup.
pub(crate) fn attached(cgroup: &File, dir: &Path) -> Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    bpf(BPF_PROG_QUERY, &mut attr).map_err(filter_err("query", dir))?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

fn attach(cgroup: &File, prog: &OwnedFd, dir: &Path) -> Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(filter_err("attach", dir))?;
    Ok(())
}

/// Detaches program `id`; one that has meanwhile gone away is fine.
fn detach(cgroup: &File, id: u32, dir: &Path) -> Result<()> {
    let mut by_id = GetFdByIdAttr {
        prog_id: id,
        next_id: 0,
        open_flags: 0,
    };
    let prog = match bpf(BPF_PROG_GET_FD_BY_ID, &mut by_id) {
        Ok(fd) => owned_fd(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(filter_err("look up old", dir)(e)),
    };
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
        replace_bpf_fd: 0,
    };
    match bpf(BPF_PROG_DETACH, &mut attr) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(filter_err("detach old", dir)(e)),
    }
}

/// Installs the filter for `rules` on the cgroup2 directory `dir`,
/// replacing any filter this or an earlier call attached there.
pub(crate) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let rules = device_rule::normalize(rules)?;
    let insns = program(&rules);
    let cgroup = File::open(dir).map_err(|err| Error::Read {
        path: dir.to_owned(),
        err,
    })?;
    let old = attached(&cgroup, dir)?;
    let prog = load(&insns, dir)?;
    attach(&cgroup, &prog, dir)?;
    for id in old {
        detach(&cgroup, id, dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_rule::tests::rule;
    use crate::device_rule::{ACC_MKNOD, ACC_READ, ACC_WRITE};
    use crate::fixture;
    use oci_spec::runtime::LinuxDeviceType as T;

    /// Runs a generated program on a request, interpreting exactly the
    /// instructions `program` emits.
    fn run(p: &[Insn], typ: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [(access << 16) | typ, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = p[pc];
            let (d, s) = (i.dst(), i.src());
            pc += 1;
            match i.code {
                LDX_W_MEM => {
                    assert_eq!(s, 1, "only ctx loads");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                ALU32_AND_K => r[d] = u64::from((r[d] as u32) & (i.imm as u32)),
                ALU32_RSH_K => r[d] = u64::from((r[d] as u32) >> i.imm),
                ALU32_MOV_X => r[d] = u64::from(r[s] as u32),
                ALU64_MOV_K => r[d] = i.imm as i64 as u64,
                JMP_JNE_K => {
                    if r[d] != i.imm as i64 as u64 {
                        pc += i.off as usize
                    }
                }
                JMP_JEQ_K => {
                    if r[d] == i.imm as i64 as u64 {
                        pc += i.off as usize
                    }
                }
                JMP_EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
        panic!("program did not terminate");
    }

    const C: u32 = DEV_CHAR as u32;
    const B: u32 = DEV_BLOCK as u32;
    const RW: u32 = (ACC_READ | ACC_WRITE) as u32;

    fn prog(rules: &[LinuxDeviceCgroup]) -> Vec<Insn> {
        program(&device_rule::normalize(rules).unwrap())
    }

    #[test]
    fn default_deny() {
        let p = prog(&[]);
        assert_eq!(run(&p, C, RW, 1, 3), 0);
    }

    #[test]
    fn last_matching_rule_wins() {
        let p = prog(&[
            rule(false, T::A, None, None, "rwm"),
            rule(true, T::C, Some(1), Some(3), "rwm"),
            rule(true, T::C, Some(1), Some(5), "r"),
            rule(true, T::B, Some(8), None, "rw"),
            rule(false, T::C, Some(1), Some(3), "w"),
        ]);
        assert_eq!(run(&p, C, ACC_READ as u32, 1, 3), 1);
        assert_eq!(run(&p, C, RW, 1, 3), 0, "deny w hits a rw request");
        assert_eq!(run(&p, C, ACC_MKNOD as u32, 1, 3), 1);
        assert_eq!(run(&p, C, ACC_READ as u32, 1, 5), 1);
        assert_eq!(run(&p, C, RW, 1, 5), 0, "allow r does not cover rw");
        assert_eq!(run(&p, B, RW, 8, 17), 1);
        assert_eq!(run(&p, C, RW, 8, 17), 0, "type must match");
        assert_eq!(run(&p, C, RW, 4, 1), 0);
    }

    #[test]
    fn match_all_rule_cuts_the_program() {
        let p = prog(&[
            rule(false, T::C, Some(1), Some(3), "rwm"),
            rule(true, T::A, None, None, "rwm"),
        ]);
        // Prologue (6) + one unconditional block (2): nothing unreachable.
        assert_eq!(p.len(), 8);
        assert_eq!(run(&p, C, RW, 1, 3), 1);
        let p = prog(&[
            rule(true, T::A, None, None, "rwm"),
            rule(false, T::C, Some(1), Some(3), "rwm"),
        ]);
        assert_eq!(run(&p, C, RW, 1, 3), 0);
        assert_eq!(run(&p, C, RW, 1, 5), 1);
    }

    /// On the real cgroup2 mount: a child in a cgroup whose filter denies
    /// /dev/null gets EPERM opening it, while /dev/zero still opens; replacing
    /// the filter lifts the denial and leaves exactly one program attached.
    #[test]
    fn real_cgroup2_filter_denies_dev_null() {
        let Some(env) = fixture::real_unified("devbpf") else {
            return;
        };
        let dir = env.dir();
        apply(
            dir,
            &[
                rule(true, T::A, None, None, "rwm"),
                rule(false, T::C, Some(1), Some(3), "rwm"),
            ],
        )
        .unwrap();

        let script = "read _; if cat /dev/null; then echo null-ok; else echo null-denied; fi; \
                      n=$(head -c 1 /dev/zero | wc -c); [ \"$n\" = 1 ] && echo zero-ok";
        let out = fixture::run_in(script, |pid| {
            crate::interface::write(dir, "cgroup.procs", &pid.to_string())
        });
        assert!(out.stdout.contains("null-denied"), "{out:?}");
        assert!(out.stdout.contains("zero-ok"), "{out:?}");
        assert!(out.stderr.contains("Operation not permitted"), "{out:?}");

        apply(dir, &[rule(true, T::A, None, None, "rwm")]).unwrap();
        let cg = File::open(dir).unwrap();
        assert_eq!(attached(&cg, dir).unwrap().len(), 1);
        let out = fixture::run_in(script, |pid| {
            crate::interface::write(dir, "cgroup.procs", &pid.to_string())
        });
        assert!(out.stdout.contains("null-ok"), "{out:?}");
    }
}
