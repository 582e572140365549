package io.pvecri.daemon.config;

import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The {@code storage:} section of the config file: how container root file systems are made
 * (docs/storage.md; keys in docs/configuration.md). Only the syntax is checked here; whether the
 * host can do it (zfs command, pool, mkfs.ext4, loop devices) is checked when the daemon starts
 * (see io.pvecri.daemon.rootfs.RootfsFormats).
 */
public final class StorageSection {
    /** A ZFS dataset name: a pool (starts with a letter) then /-separated components. */
    private static final Pattern DATASET = Pattern.compile("^[A-Za-z][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)*$");
    /**
     * ZFS names are limited to 255 bytes; pve-cri appends at most {@code /containers/<64 hex>}
     * and {@code /images/<64 hex>@base} (76 bytes).
     */
    static final int MAX_DATASET = 255 - 77;

    private StorageSection() {}

    public enum Format { DIR, ZFS, RAW }

    /**
     * @param format how each container's root file system is made
     * @param zfs    settings of the zfs format (null unless format is ZFS)
     * @param raw    settings of the raw format (always present; used only by RAW)
     */
    public record Settings(Format format, Zfs zfs, Raw raw) {
        public static Settings defaults(Path stateDir) {
            return new Settings(Format.DIR, null, new Raw(stateDir.resolve("rootfs").resolve("raw"), DEFAULT_HEADROOM));
        }

        /** The format's name as written in the config file. */
        public String formatName() {
            return format.name().toLowerCase(Locale.ROOT);
        }
    }

    /** @param dataset the dataset pve-cri owns: image datasets and container clones go below it */
    public record Zfs(String dataset) {
        public String pool() {
            int slash = dataset.indexOf('/');
            return slash < 0 ? dataset : dataset.substring(0, slash);
        }
    }

    /**
     * @param dir             where the per-image ext4 files and their mount points live
     * @param headroomPercent extra room in each ext4 file over what the image's tree needs
     */
    public record Raw(Path dir, int headroomPercent) {}

    static final int DEFAULT_HEADROOM = 10;

    record FileStorage(String format, FileZfs zfs, FileRaw raw) {}

    record FileZfs(String dataset) {}

    record FileRaw(Path dir, Integer headroomPercent) {}

    static Settings parse(FileStorage f, Path stateDir) throws ConfigException {
        Settings d = Settings.defaults(stateDir);
        if (f == null) {
            return d;
        }
        String name = f.format() == null ? "dir" : f.format().strip().toLowerCase(Locale.ROOT);
        Format format = switch (name) {
            case "dir" -> Format.DIR;
            case "zfs" -> Format.ZFS;
            case "raw" -> Format.RAW;
            default -> throw new ConfigException("storage.format: '" + f.format() + "' is not one of dir, zfs, raw");
        };
        Zfs zfs = null;
        if (f.zfs() != null && f.zfs().dataset() != null) {
            String ds = f.zfs().dataset().strip();
            if (!DATASET.matcher(ds).matches()) {
                throw new ConfigException("storage.zfs.dataset: '" + ds + "' is not a ZFS dataset name like tank/pve-cri "
                        + "(pool first, components of letters, digits, _ . : -, separated by /)");
            }
            if (ds.length() > MAX_DATASET) {
                throw new ConfigException("storage.zfs.dataset: '" + ds + "' is " + ds.length() + " characters; at most "
                        + MAX_DATASET + " leave room for the image and container names pve-cri adds below it");
            }
            zfs = new Zfs(ds);
        }
        if (format == Format.ZFS && zfs == null) {
            throw new ConfigException("storage.zfs.dataset: required when storage.format is zfs (e.g. tank/pve-cri: "
                    + "a dataset of an existing pool that pve-cri creates if missing and owns)");
        }
        Raw raw = d.raw();
        if (f.raw() != null) {
            Path dir = f.raw().dir() == null ? raw.dir() : f.raw().dir();
            if (!dir.isAbsolute()) {
                throw new ConfigException("storage.raw.dir: '" + dir + "' must be an absolute path");
            }
            int headroom = f.raw().headroomPercent() == null ? raw.headroomPercent() : f.raw().headroomPercent();
            if (headroom < 0 || headroom > 1000) {
                throw new ConfigException("storage.raw.headroomPercent: " + headroom + " is out of range 0..1000");
            }
            raw = new Raw(dir.normalize(), headroom);
        }
        return new Settings(format, format == Format.ZFS ? zfs : null, raw);
    }
}
