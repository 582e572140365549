package io.pvecri.gpu;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * {@code <stateDir>/allocations.json}: every allocation, rewritten whole on each change (temp
 * file, fsync, rename, fsync of the directory), so a crash leaves the old or the new table,
 * never a torn one. Holds {@code allocations.lock} while open, so two daemons cannot share a
 * state dir. A file that cannot be read fails the open: starting empty would over-commit GPUs.
 */
final class AllocationStore implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(AllocationStore.class.getName());

    static final String FILE = "allocations.json";
    static final String LOCK = "allocations.lock";
    static final String TEMP_PREFIX = FILE + ".tmp-";
    static final int VERSION = 1;

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private final Path dir;
    private final Path file;
    private final FileChannel lockChannel;
    private final FileLock lock;

    /** The file's shape. Strings, so the format does not move with the Java types. */
    record StateFile(int version, List<Entry> allocations) {
    }

    record Entry(String containerId, String kind, List<String> gpus, long memoryMib, int computePercent, String policy,
                 int violationWindow, String namespace, String pod, String container, String request,
                 String createdAt) {
    }

    private AllocationStore(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    static AllocationStore open(Path dir) throws GpuIoException {
        FileChannel channel = null;
        try {
            Files.createDirectories(dir);
            channel = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw new GpuIoException("GPU state dir " + dir + " is in use by another pve-cri instance");
            }
            AllocationStore store = new AllocationStore(dir, channel, lock);
            store.removeLeftovers();
            return store;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new GpuIoException("cannot open GPU state dir " + dir, e);
        }
    }

    Path file() {
        return file;
    }

    List<GpuAllocation> load() throws GpuIoException {
        if (!Files.exists(file)) {
            return List.of();
        }
        StateFile state;
        try {
            state = MAPPER.readValue(Files.readAllBytes(file), StateFile.class);
        } catch (JsonProcessingException e) {
            throw new GpuIoException(file + " is not a valid GPU allocation table (" + e.getOriginalMessage()
                    + "); fix or move it aside");
        } catch (IOException e) {
            throw new GpuIoException("cannot read " + file, e);
        }
        if (state == null || state.version() != VERSION || state.allocations() == null) {
            throw new GpuIoException(file + " has an unsupported format (version "
                    + (state == null ? "?" : state.version()) + ", expected " + VERSION + ")");
        }
        List<GpuAllocation> out = new ArrayList<>();
        for (Entry e : state.allocations()) {
            out.add(fromEntry(e));
        }
        return out;
    }

    void save(Collection<GpuAllocation> allocations) throws GpuIoException {
        List<Entry> entries = allocations.stream().sorted(Comparator.comparing(GpuAllocation::containerId))
                .map(AllocationStore::toEntry).toList();
        byte[] bytes;
        try {
            bytes = MAPPER.writeValueAsBytes(new StateFile(VERSION, entries));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise the GPU allocation table", e);
        }
        Path temp = dir.resolve(TEMP_PREFIX + UUID.randomUUID());
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // the next open removes it
            }
            throw new GpuIoException("cannot write " + file, e);
        }
    }

    private void removeLeftovers() throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
            for (Path p : s) {
                LOG.log(System.Logger.Level.INFO, "removing leftover of an interrupted write: {0}", p);
                Files.deleteIfExists(p);
            }
        }
    }

    private static Entry toEntry(GpuAllocation a) {
        return new Entry(a.containerId(), a.kind().name().toLowerCase(java.util.Locale.ROOT), a.gpuUuids(),
                a.memoryMib(), a.computePercent(), a.quota().policy().id(), a.quota().violationWindow(),
                a.labels().namespace(), a.labels().pod(), a.labels().container(), a.request(),
                a.createdAt().toString());
    }

    private GpuAllocation fromEntry(Entry e) throws GpuIoException {
        try {
            if (e.containerId() == null || e.containerId().isBlank()) {
                throw new IllegalArgumentException("an entry has no containerId");
            }
            GpuAllocation.Kind kind = GpuAllocation.Kind.valueOf(String.valueOf(e.kind()).toUpperCase(java.util.Locale.ROOT));
            QuotaSettings quota = new QuotaSettings(QuotaPolicy.parse(e.policy()), e.violationWindow());
            return new GpuAllocation(e.containerId(), kind, e.gpus() == null ? List.of() : e.gpus(), e.memoryMib(),
                    e.computePercent(), quota, new ContainerLabels(e.namespace(), e.pod(), e.container()),
                    e.request() == null ? "" : e.request(), Instant.parse(e.createdAt()));
        } catch (IllegalArgumentException | InvalidGpuRequestException | DateTimeParseException | NullPointerException x) {
            throw new GpuIoException(file + ": unreadable allocation of container " + e.containerId() + " ("
                    + x.getMessage() + "); fix or move the file aside");
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }
}
