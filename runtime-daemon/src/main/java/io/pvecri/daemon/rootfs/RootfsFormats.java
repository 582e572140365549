package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.config.ConfigException;
import io.pvecri.daemon.config.StorageSection;
import io.pvecri.daemon.util.AtomicFiles;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Builds the configured {@link RootfsFormat} at daemon start, after checking the host can do it
 * (errors name the config key and the fix). The format in use is written to
 * {@code <stateDir>/rootfs/format}; when the config names another one (or another dataset or
 * directory) the switch is refused while containers exist (their root file systems belong to
 * the old format), and otherwise the old format's per-image artefacts are removed first.
 */
public final class RootfsFormats {
    private static final Log LOG = Log.get(RootfsFormats.class);

    private RootfsFormats() {}

    /**
     * @param containers number of container records the daemon has (any state)
     */
    public static RootfsFormat open(StorageSection.Settings s, Path stateDir, Path containersDir,
                                    RootfsFormat.Observer observer, int containers) throws ConfigException {
        Path marker = stateDir.resolve("rootfs").resolve("format");
        String wanted = describe(s);
        String previous = readMarker(marker);
        if (!previous.equals(wanted)) {
            if (containers > 0) {
                throw new ConfigException("storage: this state dir's " + containers + " container(s) were made with storage '"
                        + previous + "' but the config now says '" + wanted + "'; remove the containers (crictl rm) with the "
                        + "previous storage settings first, or restore them");
            }
            purgePrevious(previous, stateDir, containersDir);
        }
        RootfsFormat format = build(s, stateDir, containersDir, observer);
        try {
            Files.createDirectories(marker.getParent());
            AtomicFiles.write(marker, (wanted + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ConfigException("storage: cannot write " + marker + ": " + e.getMessage(), e);
        }
        LOG.info("rootfs.format", "format", format.name(), "settings", wanted);
        return format;
    }

    private static RootfsFormat build(StorageSection.Settings s, Path stateDir, Path containersDir,
                                      RootfsFormat.Observer observer) throws ConfigException {
        return switch (s.format()) {
            case DIR -> new DirFormat(containersDir, observer);
            case ZFS -> {
                try {
                    yield ZfsFormat.open(s.zfs().dataset(), zfsMountRoot(stateDir), observer);
                } catch (RootfsException e) {
                    throw new ConfigException("storage.zfs.dataset: " + e.getMessage(), e);
                }
            }
            case RAW -> {
                var missing = RawFormat.missingTools();
                if (!missing.isEmpty()) {
                    throw new ConfigException("storage.format is raw but " + String.join("; ", missing));
                }
                try {
                    yield new RawFormat(s.raw().dir(), containersDir, s.raw().headroomPercent(), observer);
                } catch (RootfsException e) {
                    throw new ConfigException("storage.raw.dir: " + e.getMessage(), e);
                }
            }
        };
    }

    /** Where zfs clones (and image datasets while they are filled) are mounted. */
    public static Path zfsMountRoot(Path stateDir) {
        return stateDir.resolve("rootfs").resolve("zfs");
    }

    /** The marker's text: the format and what identifies its artefacts. */
    static String describe(StorageSection.Settings s) {
        return switch (s.format()) {
            case DIR -> "dir";
            case ZFS -> "zfs " + s.zfs().dataset();
            case RAW -> "raw " + s.raw().dir();
        };
    }

    private static String readMarker(Path marker) throws ConfigException {
        try {
            return Files.exists(marker) ? Files.readString(marker, StandardCharsets.UTF_8).strip() : "dir";
        } catch (IOException e) {
            throw new ConfigException("storage: cannot read " + marker + ": " + e.getMessage(), e);
        }
    }

    /** Removes every artefact of the previous format (no container uses any). Best effort, logged. */
    private static void purgePrevious(String previous, Path stateDir, Path containersDir) {
        String[] p = previous.split(" ", 2);
        try {
            RootfsFormat old = switch (p[0]) {
                case "zfs" -> p.length == 2 ? ZfsFormat.open(p[1], zfsMountRoot(stateDir), RootfsFormat.Observer.NONE) : null;
                case "raw" -> p.length == 2 ? new RawFormat(Path.of(p[1]), containersDir, 0, RootfsFormat.Observer.NONE) : null;
                default -> null;
            };
            if (old != null) {
                old.recover(Map.of(), Map.of());
                LOG.info("rootfs.previous_format_purged", "previous", previous);
            }
        } catch (RootfsException | RuntimeException e) {
            LOG.warn("rootfs.previous_format_not_purged", "previous", previous, "error", e.getMessage(),
                    "note", "remove its datasets or files by hand");
        }
    }
}
