package io.pvecri.daemon.state;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pvecri.daemon.util.AtomicFiles;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Persisted records of one kind ({@code <dir>/<id>.json}, atomic writes) with an in-memory
 * index. A record is on disk before {@link #put} returns, so a crash never loses an
 * acknowledged change. Files that cannot be parsed are moved aside, not deleted.
 */
public final class RecordStore<T> {
    private static final Log LOG = Log.get(RecordStore.class);
    static final ObjectMapper JSON = new ObjectMapper()
            .findAndRegisterModules()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private final Path dir;
    private final Class<T> type;
    private final Function<T, String> idOf;
    private final Map<String, T> byId = new ConcurrentHashMap<>();

    public RecordStore(Path dir, Class<T> type, Function<T, String> idOf) {
        this.dir = dir;
        this.type = type;
        this.idOf = idOf;
    }

    /** Loads every record from disk; call once at start. */
    public List<T> load() throws IOException {
        Files.createDirectories(dir);
        List<T> loaded = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
                try {
                    T rec = JSON.readValue(f.toFile(), type);
                    byId.put(idOf.apply(rec), rec);
                    loaded.add(rec);
                } catch (IOException e) {
                    Path aside = f.resolveSibling(f.getFileName() + ".corrupt");
                    Files.move(f, aside, StandardCopyOption.REPLACE_EXISTING);
                    LOG.warn("state.record_corrupt", "file", f, "moved_to", aside, "error", e.getMessage());
                }
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            files.filter(p -> p.getFileName().toString().contains(".tmp-")).forEach(p -> p.toFile().delete());
        }
        return loaded;
    }

    public void put(T record) {
        String id = idOf.apply(record);
        try {
            AtomicFiles.write(dir.resolve(id + ".json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot persist record " + id + " in " + dir, e);
        }
        byId.put(id, record);
    }

    public void delete(String id) {
        try {
            Files.deleteIfExists(dir.resolve(id + ".json"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete record " + id + " in " + dir, e);
        }
        byId.remove(id);
    }

    public Optional<T> get(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    public Collection<T> all() {
        return List.copyOf(byId.values());
    }
}
