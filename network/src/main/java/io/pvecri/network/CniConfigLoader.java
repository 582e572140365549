package io.pvecri.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds the CNI config in use: the first valid {@code .conflist}, {@code .conf} or {@code .json}
 * of the config dir in lexical order whose plugins all exist in the bin dirs. Re-reads the
 * directory whenever a file name, size or mtime in it changed (checked on every call).
 */
final class CniConfigLoader {

    /** The outcome of a scan. */
    sealed interface Found permits Config, Missing {
    }

    /** A usable config list and where it came from. */
    record Config(CniNetworkList list, Path file) implements Found {
    }

    /** Why there is none. */
    record Missing(String reason) implements Found {
    }

    private final Path confDir;
    private final List<Path> binDirs;
    private String fingerprint;
    private Found current;

    CniConfigLoader(Path confDir, List<Path> binDirs) {
        this.confDir = confDir;
        this.binDirs = binDirs;
    }

    synchronized Found current() {
        String fp = fingerprint();
        if (current == null || !fp.equals(fingerprint)) {
            fingerprint = fp;
            current = scan();
        }
        return current;
    }

    /** The plugin binary for {@code type}, or null. */
    Path plugin(String type) {
        for (Path d : binDirs) {
            Path p = d.resolve(type);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private String fingerprint() {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> s = Files.list(confDir)) {
            for (Path p : s.sorted().toList()) {
                sb.append(p.getFileName()).append(':').append(Files.getLastModifiedTime(p).toMillis()).append(':')
                        .append(Files.size(p)).append(';');
            }
        } catch (IOException e) {
            sb.append("unreadable:").append(e.getMessage());
        }
        for (Path d : binDirs) {
            sb.append('|').append(d).append(Files.isDirectory(d));
        }
        return sb.toString();
    }

    private Found scan() {
        List<Path> files;
        try (Stream<Path> s = Files.list(confDir)) {
            files = s.filter(p -> {
                String n = p.getFileName().toString();
                return !n.startsWith(".") && (n.endsWith(".conflist") || n.endsWith(".conf") || n.endsWith(".json"));
            }).sorted().toList();
        } catch (IOException e) {
            return new Missing("cannot read " + confDir + ": " + e.getMessage());
        }
        if (files.isEmpty()) {
            return new Missing("no network config found in " + confDir);
        }
        List<String> problems = new ArrayList<>();
        for (Path f : files) {
            try {
                CniNetworkList list = CniNetworkList.parse(Json.MAPPER.readTree(f.toFile()), !f.toString().endsWith(".conflist"));
                List<String> missing = list.plugins().stream().map(p -> p.path("type").asText())
                        .filter(t -> plugin(t) == null).toList();
                if (!missing.isEmpty()) {
                    problems.add(f.getFileName() + ": plugin(s) " + missing + " not found in " + binDirs);
                    continue;
                }
                return new Config(list, f);
            } catch (IOException | IllegalArgumentException e) {
                problems.add(f.getFileName() + ": " + e.getMessage());
            }
        }
        return new Missing("no valid network config in " + confDir + ": " + String.join("; ", problems));
    }
}
