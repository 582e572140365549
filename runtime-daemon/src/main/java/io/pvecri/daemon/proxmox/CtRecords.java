package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which PVE CT (VMID) belongs to which pve-cri container or image template, persisted under
 * {@code <stateDir>/proxmox/{containers,templates}/<name>}, one small file each ({@code vmid state}).
 * A container's file is written <em>before</em> the clone claims the VMID, so a daemon killed in the
 * middle of a create finds on restart which VMID to clean up. The files are read once at start and
 * mirrored in memory (lookups, e.g. VMID → container for every GPU sample, do no I/O).
 */
final class CtRecords {
    private static final Pattern NAME = Pattern.compile("^[A-Za-z0-9_.:-]{1,128}$");

    enum State { CREATING, READY }

    record Entry(String name, int vmid, State state) {}

    private final Path dir;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    CtRecords(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
                Entry e = read(f);
                entries.put(e.name(), e);
            }
        }
    }

    void put(String name, int vmid, State state) throws IOException {
        AtomicFiles.write(file(name), (vmid + " " + state.name().toLowerCase() + "\n").getBytes(StandardCharsets.UTF_8));
        entries.put(name, new Entry(name, vmid, state));
    }

    Optional<Entry> get(String name) {
        return Optional.ofNullable(entries.get(name));
    }

    void delete(String name) throws IOException {
        Files.deleteIfExists(file(name));
        entries.remove(name);
    }

    List<Entry> all() {
        return List.copyOf(entries.values());
    }

    private static Entry read(Path f) throws IOException {
        String[] parts = Files.readString(f).strip().split("\\s+");
        try {
            return new Entry(f.getFileName().toString(), Integer.parseInt(parts[0]),
                    parts.length > 1 && parts[1].equals("ready") ? State.READY : State.CREATING);
        } catch (NumberFormatException e) {
            throw new IOException("corrupt record " + f + ": '" + String.join(" ", parts) + "'");
        }
    }

    private Path file(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a record name: " + name);
        }
        return dir.resolve(name);
    }
}
