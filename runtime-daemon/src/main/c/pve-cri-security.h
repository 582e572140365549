/*
 * pve-cri-init: the container security pieces that must run inside the container after LXC
 * has done its mounts: the RuntimeDefault seccomp filter, the installer of Localhost profiles
 * (compiled to BPF by the daemon), masked paths and read-only paths.
 * Included by pve-cri-init.c (one translation unit, one static binary).
 */
#ifndef PVE_CRI_SECURITY_H
#define PVE_CRI_SECURITY_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/*
 * RuntimeDefault: a deny list in the spirit of Docker's default profile, for x86-64. Calls that
 * change the kernel or the node (modules, kexec, clocks, swap, reboot, keyrings, raw I/O ports,
 * BPF, perf, userfaultfd, cross-process memory access) always fail with EPERM; the mount and
 * namespace calls fail unless the container keeps CAP_SYS_ADMIN (then the kernel's own
 * capability checks apply, as with Docker). Other ABIs (i386, x32) get ENOSYS, so the list
 * cannot be bypassed through their different syscall numbers.
 */
static const int seccomp_always_denied[] = {
    SYS_acct, SYS_add_key, SYS_bpf, SYS_clock_adjtime, SYS_clock_settime, SYS_create_module,
    SYS_delete_module, SYS_finit_module, SYS_get_kernel_syms, SYS_get_mempolicy, SYS_init_module,
    SYS_ioperm, SYS_iopl, SYS_kcmp, SYS_kexec_file_load, SYS_kexec_load, SYS_keyctl,
    SYS_lookup_dcookie, SYS_mbind, SYS_move_pages, SYS_nfsservctl, SYS_open_by_handle_at,
    SYS_perf_event_open, SYS_process_vm_readv, SYS_process_vm_writev, SYS_query_module,
    SYS_quotactl, SYS_reboot, SYS_request_key, SYS_set_mempolicy, SYS_settimeofday, SYS_swapon,
    SYS_swapoff, SYS_sysfs, SYS__sysctl, SYS_uselib, SYS_userfaultfd, SYS_ustat,
};

static const int seccomp_sys_admin_only[] = {
    SYS_mount, SYS_umount2, SYS_pivot_root, SYS_unshare, SYS_setns,
#ifdef SYS_fsopen
    SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree,
#endif
};

#define CAP_SYS_ADMIN_BIT 21
#define N_ALWAYS (sizeof seccomp_always_denied / sizeof seccomp_always_denied[0])
#define N_ADMIN (sizeof seccomp_sys_admin_only / sizeof seccomp_sys_admin_only[0])

/* Installs the RuntimeDefault filter on the calling thread (inherited across fork and exec). */
static int seccomp_runtime_default(uint64_t caps, int caps_known)
{
    int keep_admin = !caps_known || (caps & ((uint64_t)1 << CAP_SYS_ADMIN_BIT));
    struct sock_filter prog[8 + N_ALWAYS + N_ADMIN];
    size_t n = 0;
    size_t denied = N_ALWAYS + (keep_admin ? 0 : N_ADMIN);
    /* arch check */
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    /* x32 ABI numbers have bit 30 set */
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    /* each denied number jumps to the EPERM return after the list */
    for (size_t i = 0; i < denied; i++) {
        int nr = i < N_ALWAYS ? seccomp_always_denied[i] : seccomp_sys_admin_only[i - N_ALWAYS];
        uint8_t to_eperm = (uint8_t)(denied - i); /* skip the rest of the list and the ALLOW */
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, to_eperm, 0);
    }
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}

/* Installs a compiled filter (a Localhost profile, compiled by the daemon) with seccomp(2). */
static int seccomp_install(const struct sock_filter *filter, size_t len, unsigned int flags)
{
    struct sock_fprog fprog = { .len = (unsigned short)len, .filter = (struct sock_filter *)filter };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
}

/* Masked path: a directory gets an empty read-only tmpfs over it, a file /dev/null. */
static int mask_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode))
        return mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
    return mount("/dev/null", path, NULL, MS_BIND, NULL);
}

/* Read-only path: bind it onto itself, then remount that bind read-only. */
static int readonly_path(const char *path)
{
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return errno == ENOENT ? 0 : -1;
    return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
}

#endif
