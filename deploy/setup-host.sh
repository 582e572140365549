#!/usr/bin/env bash
# Installs what pve-cri needs on a Debian 12 (or Proxmox VE 8) host, as root. Idempotent and
# quick when everything is already there. Used by the README's quick start and by .ci/run.
set -euo pipefail

# Host tools the daemon runs (lxc-*, ip, unshare, mount), the C toolchain that builds the init
# shim (static glibc), and what the tests use to build images (busybox-static).
# Pod networking: nftables (hostPort, isolation), CNI plugins and iptables (CNI portmap); the DHCP
# addressing tests run Debian's dnsmasq (dnsmasq-base) as the LAN's DHCP server.
# Registry pull tests run Debian's docker-registry on 127.0.0.1, htpasswd (apache2-utils) makes its
# basic-auth users, and skopeo is the reference the pull benchmark is compared with.
# The PVE emulator unpacks CT templates with tar (zstd, xz-utils: .tar.zst/.tar.xz templates).
# Rootfs formats (docs/storage.md): e2fsprogs (mkfs.ext4 -d, debugfs) builds the raw format's
# ext4 image files; zfs-fuse is the ZFS the zfs format is tested with (pools on sparse files, no
# kernel module needed; kernel ZFS from zfsutils-linux works the same for production).
packages=(lxc iproute2 util-linux mount gcc libc6-dev busybox-static nftables containernetworking-plugins iptables
  docker-registry apache2-utils skopeo dnsmasq-base zstd xz-utils e2fsprogs zfs-fuse)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-host: missing packages ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Unprivileged containers (the PVE emulator's CTs, as on a PVE node): root maps container ids 0..65535
# to host ids 100000..165535, which needs this range in /etc/subuid and /etc/subgid (PVE nodes have it).
for f in /etc/subuid /etc/subgid; do
  if ! grep -qs '^root:100000:65536$' "$f"; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup-host: $f lacks root:100000:65536; run as root to add it" >&2
      exit 1
    fi
    echo "root:100000:65536" >> "$f"
    echo "setup-host: added root:100000:65536 to $f"
  fi
done

# The zfs-fuse daemon serves every ZFS command and mount; the zfs format tests need it running.
# With systemd the package's service is used; elsewhere (containers, CI sandboxes without an init
# system) it is started here. It needs /dev/fuse.
zfs_ready() { zpool list >/dev/null 2>&1; }
if ! zfs_ready; then
  if [ ! -e /dev/fuse ]; then
    echo "setup-host: /dev/fuse does not exist: zfs-fuse cannot run (modprobe fuse); the zfs format tests will fail" >&2
  elif [ -d /run/systemd/system ]; then
    systemctl start zfs-fuse.service || echo "setup-host: systemctl start zfs-fuse failed" >&2
  else
    mkdir -p /var/run/zfs /var/lock/zfs
    # A zfs-fuse that was killed (host reboot into a kept /var/run, a sandbox that kills every
    # process when it ends) leaves its pidfile behind, and zfs-fuse then refuses to start (exit 1,
    # no message). Remove it when no zfs-fuse process owns it.
    pidfile=/var/run/zfs-fuse.pid
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile" 2>/dev/null || true)
      if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != zfs-fuse ] \
        || [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
        echo "setup-host: removing stale $pidfile (pid ${pid:-none} is not a running zfs-fuse)"
        rm -f "$pidfile"
      fi
    fi
    zfs-fuse --pidfile "$pidfile" || echo "setup-host: zfs-fuse did not start" >&2
  fi
  for _ in $(seq 50); do zfs_ready && break; sleep 0.2; done
  zfs_ready || echo "setup-host: zfs-fuse is not answering (zpool list fails); the zfs format tests will fail" >&2
fi

# JDK 25: Debian 12 has no package for it.
jdk=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
if ! "$jdk/bin/java" -version 2>&1 | grep -qE 'version "2[5-9]'; then
  cat >&2 <<MSG
setup-host: no JDK 25 at $jdk.
  Install Eclipse Temurin 25 (see adoptium.net: add its apt repository, then
  'apt-get install temurin-25-jdk'), or unpack a JDK 25 and point JAVA_HOME at it.
MSG
  exit 1
fi
echo "setup-host: ok (lxc $(lxc-start --version), JDK $("$jdk/bin/java" -version 2>&1 | head -1 | cut -d'"' -f2))"
