package io.pvecri.proxmox;

import java.util.Optional;

/**
 * Options of {@code POST /nodes/{node}/lxc/{vmid}/clone} besides {@code newid}.
 *
 * <p>{@code full=false} makes a linked clone: only from a template, only on storages with clone
 * support (zfspool, lvmthin, rbd, btrfs; not dir/NFS), and without {@code storage} (PVE refuses
 * {@code parameter 'storage' not allowed for linked clones}).
 *
 * @param full        full copy instead of a linked clone
 * @param hostname    hostname of the new CT
 * @param description description of the new CT
 * @param pool        resource pool to add it to
 * @param storage     target storage (full clones only)
 */
public record CloneOptions(boolean full, Optional<String> hostname, Optional<String> description,
                           Optional<String> pool, Optional<String> storage) {

    public CloneOptions {
        if (!full && storage.isPresent()) {
            throw new IllegalArgumentException("storage: not allowed for linked clones (full=false)");
        }
    }

    /** A linked clone ({@code full=0}). */
    public static CloneOptions linked() {
        return new CloneOptions(false, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** A full copy ({@code full=1}). */
    public static CloneOptions fullCopy() {
        return new CloneOptions(true, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    public CloneOptions withHostname(String v) {
        return new CloneOptions(full, Optional.of(v), description, pool, storage);
    }

    public CloneOptions withDescription(String v) {
        return new CloneOptions(full, hostname, Optional.of(v), pool, storage);
    }

    public CloneOptions withPool(String v) {
        return new CloneOptions(full, hostname, description, Optional.of(v), storage);
    }

    public CloneOptions withStorage(String v) {
        return new CloneOptions(full, hostname, description, pool, Optional.of(v));
    }

    PveParams toParams(int newid) {
        PveParams p = PveParams.of().with("newid", newid).with("full", full);
        if (hostname.isPresent()) {
            p = p.with("hostname", hostname.get());
        }
        if (description.isPresent()) {
            p = p.with("description", description.get());
        }
        if (pool.isPresent()) {
            p = p.with("pool", pool.get());
        }
        if (storage.isPresent()) {
            p = p.with("storage", storage.get());
        }
        return p;
    }
}
