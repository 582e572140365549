package io.pvecri.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The persisted IPAM state ({@code <stateDir>/ipam.json}): every lease, the allocation cursor of
 * each range, and the pod CIDR kubelet last gave. Changes are committed whole: the file is
 * written atomically first and only then does the in-memory copy change, so a failed write
 * leaves both as they were.
 */
final class LeaseStore {
    static final String FILE = "ipam.json";

    /**
     * One address held for a pod. {@code releasedAt == 0}: in use by {@code podId}; otherwise the
     * epoch millis when a StatefulSet pod let it go (kept for the retention period).
     */
    record Lease(String ip, String podId, String stableKey, long releasedAt) {
        boolean active() {
            return releasedAt == 0;
        }
    }

    /** The file's content. */
    record Snapshot(int version, String kubeletCidr, Map<String, String> cursors, List<Lease> leases) {
        Snapshot {
            cursors = cursors == null ? Map.of() : Map.copyOf(cursors);
            leases = leases == null ? List.of() : List.copyOf(leases);
        }
    }

    private final Path file;
    private Snapshot current;

    private LeaseStore(Path file, Snapshot current) {
        this.file = file;
        this.current = current;
    }

    static LeaseStore load(Path stateDir) throws NetworkException.StateError {
        Path file = stateDir.resolve(FILE);
        try {
            if (!Files.exists(file)) {
                return new LeaseStore(file, new Snapshot(1, null, Map.of(), List.of()));
            }
            return new LeaseStore(file, Json.MAPPER.readValue(file.toFile(), Snapshot.class));
        } catch (IOException e) {
            throw new NetworkException.StateError("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    synchronized Snapshot snapshot() {
        return current;
    }

    synchronized List<Lease> leases() {
        return current.leases();
    }

    synchronized String kubeletCidr() {
        return current.kubeletCidr();
    }

    /** Writes {@code next} to disk, then makes it current. */
    synchronized void commit(Snapshot next) throws NetworkException.StateError {
        try {
            Json.writeAtomic(file, next);
        } catch (IOException e) {
            throw new NetworkException.StateError("cannot write " + file + ": " + e.getMessage(), e);
        }
        current = next;
    }

    synchronized void commitLeases(List<Lease> leases, Map<String, String> cursors) throws NetworkException.StateError {
        commit(new Snapshot(1, current.kubeletCidr(), cursors, leases));
    }

    synchronized void commitKubeletCidr(String cidr, List<Lease> leases) throws NetworkException.StateError {
        commit(new Snapshot(1, cidr, current.cursors(), leases));
    }

    static List<Lease> mutableCopy(List<Lease> leases) {
        return new ArrayList<>(leases);
    }

    static Map<String, String> mutableCopy(Map<String, String> m) {
        return new LinkedHashMap<>(m);
    }
}
