package io.pvecri.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Pod records, one directory per pod under the state dir ({@code <stateDir>/<podId>/pod.json},
 * beside the pod's resolv.conf and hosts). Reserving a record checks hostPort conflicts under
 * the same lock, so two concurrent setUps can never map the same port.
 */
final class PodRecordStore {
    static final String RECORD_FILE = "pod.json";

    private final Path stateDir;
    private final Map<String, PodRecord> records = new LinkedHashMap<>();

    private PodRecordStore(Path stateDir) {
        this.stateDir = stateDir;
    }

    static PodRecordStore load(Path stateDir) throws NetworkException.StateError {
        PodRecordStore s = new PodRecordStore(stateDir);
        try (Stream<Path> dirs = Files.list(stateDir)) {
            for (Path d : dirs.sorted().toList()) {
                Path f = d.resolve(RECORD_FILE);
                if (Files.isRegularFile(f)) {
                    PodRecord r = Json.MAPPER.readValue(f.toFile(), PodRecord.class);
                    s.records.put(r.podId(), r);
                }
            }
        } catch (IOException e) {
            throw new NetworkException.StateError("cannot read pod records in " + stateDir + ": " + e.getMessage(), e);
        }
        return s;
    }

    Path stateDir() {
        return stateDir;
    }

    Path dir(String podId) {
        return stateDir.resolve(podId);
    }

    synchronized PodRecord get(String podId) {
        return records.get(podId);
    }

    synchronized List<PodRecord> all() {
        return new ArrayList<>(records.values());
    }

    /** Records whose host side must stay (everything not being removed). */
    synchronized List<PodRecord> live() {
        return records.values().stream().filter(r -> r.state() != PodRecord.State.REMOVING).toList();
    }

    /** Stores a new PENDING record after checking its hostPorts against every other pod. */
    synchronized void reserve(PodRecord pending) throws NetworkException {
        var conflict = HostPortClaims.conflict(pending.podId(), pending.activePorts(), records.values());
        if (conflict.isPresent()) {
            throw conflict.get();
        }
        write(pending);
    }

    synchronized void update(PodRecord r) throws NetworkException.StateError {
        write(r);
    }

    /** Marks the record REMOVING in memory (rules rendered from now on leave the pod out). */
    synchronized PodRecord markRemoving(String podId) {
        PodRecord r = records.get(podId);
        if (r == null) {
            return null;
        }
        PodRecord m = r.withState(PodRecord.State.REMOVING);
        records.put(podId, m);
        return m;
    }

    /** Forgets the pod: deletes its record file (the caller deletes the rest of the directory). */
    synchronized void remove(String podId) throws IOException {
        records.remove(podId);
        Files.deleteIfExists(dir(podId).resolve(RECORD_FILE));
    }

    private void write(PodRecord r) throws NetworkException.StateError {
        Path f = dir(r.podId()).resolve(RECORD_FILE);
        try {
            Json.writeAtomic(f, r);
        } catch (IOException e) {
            throw new NetworkException.StateError("cannot write " + f + ": " + e.getMessage(), e);
        }
        records.put(r.podId(), r);
    }
}
