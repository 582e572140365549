package io.pvecri.proxmox;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A {@code PUT /nodes/{node}/lxc/{vmid}/config}: keys to set, keys to delete, and optionally the digest
 * the change is based on (PVE refuses with {@link PveException.ConfigChanged} if the file changed since).
 *
 * <pre>{@code
 * ConfigUpdate.set(PveParams.of().with("memory", 1024)).deleting("mp0").ifDigest(cfg.digest())
 * }</pre>
 *
 * @param set    keys to set
 * @param delete keys to remove
 * @param digest expected config digest, empty for an unconditional update
 */
public record ConfigUpdate(PveParams set, List<String> delete, Optional<String> digest) {

    public ConfigUpdate {
        Objects.requireNonNull(set, "set");
        delete = List.copyOf(delete);
        Objects.requireNonNull(digest, "digest");
        if (set.isEmpty() && delete.isEmpty()) {
            throw new IllegalArgumentException("ConfigUpdate: nothing to set or delete (PVE answers 'no options specified')");
        }
        for (String k : delete) {
            if (set.values().containsKey(k)) {
                throw new IllegalArgumentException("ConfigUpdate: key '" + k + "' both set and deleted");
            }
        }
    }

    public static ConfigUpdate set(PveParams values) {
        return new ConfigUpdate(values, List.of(), Optional.empty());
    }

    public static ConfigUpdate delete(String... keys) {
        return new ConfigUpdate(PveParams.of(), List.of(keys), Optional.empty());
    }

    public ConfigUpdate deleting(String... keys) {
        List<String> all = new java.util.ArrayList<>(delete);
        all.addAll(List.of(keys));
        return new ConfigUpdate(set, all, digest);
    }

    /** Only apply if the config still has this digest (from {@link LxcConfig#digest()}). */
    public ConfigUpdate ifDigest(String expected) {
        return new ConfigUpdate(set, delete, Optional.of(expected));
    }

    PveParams toParams() {
        PveParams p = set;
        if (!delete.isEmpty()) {
            p = p.with("delete", String.join(",", delete));
        }
        if (digest.isPresent()) {
            p = p.with("digest", digest.get());
        }
        return p;
    }
}
