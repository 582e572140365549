/**
 * What lives on a PVE node's disk rather than behind its API (reference §8): the CT config file format
 * ({@link io.pvecri.proxmox.node.CtConfigFile}), its {@code flock} ({@link io.pvecri.proxmox.node.CtConfigLock})
 * and the paths ({@link io.pvecri.proxmox.node.NodeFiles}). pve-cri runs as root on the node and edits a
 * CT's config file directly for what an API token may not set (bind mount points, {@code devN}, raw
 * {@code lxc.*} keys), under the same lock {@code pct} takes; the emulator reads the same files.
 */
package io.pvecri.proxmox.node;
