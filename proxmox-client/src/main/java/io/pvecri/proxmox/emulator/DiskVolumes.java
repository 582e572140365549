package io.pvecri.proxmox.emulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Storages backed by directories of a state directory ({@code <state>/storage/<id>}):
 * <ul>
 * <li>{@code dir} storages keep files as PVE's directory plugin does: templates in {@code template/cache},
 * ISOs in {@code template/iso}, imports in {@code import}, backups in {@code dump}, snippets in {@code snippets};</li>
 * <li>{@code zfspool} storages keep each container volume as a directory, as a ZFS subvol is mounted:
 * {@code subvol-<vmid>-disk-<n>}, renamed {@code basevol-…} when its CT becomes a template. A linked
 * clone ({@code <id>:basevol-100-disk-0/subvol-101-disk-0}) is an overlay: its own directory holds
 * {@code upper/} and {@code work/}, the base directory is the lower layer. What ZFS keeps as dataset
 * properties (refquota, origin) is in {@code .meta/<name>}.</li>
 * </ul>
 */
final class DiskVolumes {

    private static final Duration TOOL_TIMEOUT = Duration.ofMinutes(10);
    private static final Pattern SUBVOL = Pattern.compile("^(?:(basevol-(\\d+)-disk-\\d+)/)?((?:sub|base)vol-(\\d+)-disk-(\\d+))$");
    private static final Map<String, String> CONTENT_DIRS = Map.of("vztmpl", "template/cache", "iso", "template/iso",
            "import", "import", "backup", "dump", "snippets", "snippets");

    /** A container volume name on a zfspool storage: its own name and, for a linked clone, its base. */
    record Subvol(String storage, String name, Optional<String> base, int vmid) {
        String volid() {
            return storage + ":" + base.map(b -> b + "/").orElse("") + name;
        }
    }

    private final Path root;

    DiskVolumes(Path stateRoot) {
        this.root = stateRoot.resolve("storage");
    }

    Path dir(String storage) {
        return root.resolve(storage);
    }

    void prepare(EmulatedCluster.Storage s) {
        try {
            Files.createDirectories(dir(s.id));
            if (s.hasPath()) {
                for (String content : s.content) {
                    String sub = CONTENT_DIRS.get(content);
                    if (sub != null) {
                        Files.createDirectories(dir(s.id).resolve(sub));
                    }
                }
            } else {
                Files.createDirectories(dir(s.id).resolve(".meta"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare storage " + s.id + ": " + e.getMessage(), e);
        }
    }

    // ---- file storages ---------------------------------------------------------------------------------

    /** The file of a file-storage volume ({@code local:vztmpl/x.tar.zst}). */
    Path file(EmulatedCluster.Storage s, String volid) {
        String volname = volid.substring(volid.indexOf(':') + 1);
        int slash = volname.indexOf('/');
        if (slash <= 0) {
            throw PveError.die("unable to parse volume name '" + volname + "'");
        }
        String sub = CONTENT_DIRS.get(volname.substring(0, slash));
        String name = volname.substring(slash + 1);
        if (sub == null || name.contains("/") || name.startsWith(".")) {
            throw PveError.die("unable to parse volume name '" + volname + "'");
        }
        return dir(s.id).resolve(sub).resolve(name);
    }

    Path contentDir(EmulatedCluster.Storage s, String content) {
        String sub = CONTENT_DIRS.get(content);
        if (sub == null) {
            throw PveError.die("storage '" + s.id + "' does not support '" + content + "' content");
        }
        return dir(s.id).resolve(sub);
    }

    // ---- listings --------------------------------------------------------------------------------------

    /** The volumes on disk, as {@code GET …/content} lists them. */
    List<EmulatedCluster.Volume> scan(EmulatedCluster.Storage s) {
        List<EmulatedCluster.Volume> out = new ArrayList<>();
        Path d = dir(s.id);
        if (!Files.isDirectory(d)) {
            return out;
        }
        try {
            if (s.hasPath()) {
                for (String content : s.content) {
                    String sub = CONTENT_DIRS.get(content);
                    if (sub == null || !Files.isDirectory(d.resolve(sub))) {
                        continue;
                    }
                    try (DirectoryStream<Path> ds = Files.newDirectoryStream(d.resolve(sub))) {
                        for (Path f : ds) {
                            String name = f.getFileName().toString();
                            if (name.startsWith(".") || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                                continue;
                            }
                            out.add(new EmulatedCluster.Volume(s.id + ":" + content + "/" + name, content,
                                    StorageHandlers.format(name), Files.size(f), 0, ""));
                        }
                    }
                }
            } else {
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
                    for (Path f : ds) {
                        String name = f.getFileName().toString();
                        Matcher m = SUBVOL.matcher(name);
                        if (!m.matches() || m.group(1) != null || !Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
                            continue;
                        }
                        Properties meta = meta(s.id, name);
                        String origin = meta.getProperty("origin");
                        Subvol v = new Subvol(s.id, name, Optional.ofNullable(origin), Integer.parseInt(m.group(4)));
                        out.add(new EmulatedCluster.Volume(v.volid(), "rootdir", "subvol",
                                Long.parseLong(meta.getProperty("refquota", "0")), v.vmid(),
                                origin == null ? "" : s.id + ":" + origin));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(java.util.Comparator.comparing(EmulatedCluster.Volume::volid));
        return out;
    }

    // ---- container volumes -----------------------------------------------------------------------------

    static Optional<Subvol> parse(String volid) {
        int colon = volid.indexOf(':');
        if (colon <= 0) {
            return Optional.empty();
        }
        Matcher m = SUBVOL.matcher(volid.substring(colon + 1));
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Subvol(volid.substring(0, colon), m.group(3), Optional.ofNullable(m.group(1)),
                Integer.parseInt(m.group(4))));
    }

    Subvol subvol(String volid) {
        return parse(volid).orElseThrow(() -> PveError.die("unable to parse zfs volume name '" + volid + "'"));
    }

    Path path(Subvol v) {
        return dir(v.storage()).resolve(v.name());
    }

    boolean exists(String volid) {
        return parse(volid).map(v -> Files.isDirectory(path(v))).orElse(false);
    }

    /**
     * {@code vdisk_alloc} of a subvol: the next free {@code subvol-<vmid>-disk-<n>}, its root owned by the
     * CT's root user (100000 for unprivileged CTs) so the unprivileged extraction can write into it.
     */
    String allocate(EmulatedCluster.Storage s, int vmid, long bytes, int rootUid, int rootGid) {
        requireSubvolStorage(s);
        try {
            for (int n = 0; ; n++) {
                String name = "subvol-" + vmid + "-disk-" + n;
                if (Files.exists(dir(s.id).resolve(name)) || Files.exists(dir(s.id).resolve("basevol-" + vmid + "-disk-" + n))) {
                    continue;
                }
                Path p = dir(s.id).resolve(name);
                try {
                    Files.createDirectory(p);
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    continue;
                }
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                Files.setAttribute(p, "unix:uid", rootUid);
                Files.setAttribute(p, "unix:gid", rootGid);
                Properties meta = new Properties();
                meta.setProperty("refquota", Long.toString(bytes));
                writeMeta(s.id, name, meta);
                return s.id + ":" + name;
            }
        } catch (IOException e) {
            throw PveError.die("zfs error: cannot create 'subvol-" + vmid + "-disk': " + e.getMessage());
        }
    }

    /** {@code template_create}: {@code subvol-…} becomes {@code basevol-…} (ZFS: rename + {@code @__base__}). */
    String toBase(String volid) {
        Subvol v = subvol(volid);
        if (v.base().isPresent()) {
            throw PveError.die("rename of a linked clone volume to a base volume is not supported");
        }
        if (v.name().startsWith("basevol-")) {
            return volid;
        }
        String baseName = v.name().replaceFirst("^subvol-", "basevol-");
        try {
            Files.move(path(v), dir(v.storage()).resolve(baseName));
            Properties meta = meta(v.storage(), v.name());
            writeMeta(v.storage(), baseName, meta);
            Files.deleteIfExists(metaFile(v.storage(), v.name()));
        } catch (IOException e) {
            throw PveError.die("zfs error: cannot rename '" + v.name() + "': " + e.getMessage());
        }
        return v.storage() + ":" + baseName;
    }

    /** A linked clone of base volume {@code baseVolid} for {@code newid}: an empty upper layer over the base. */
    String linkedClone(String baseVolid, int newid) {
        Subvol base = subvol(baseVolid);
        if (!base.name().startsWith("basevol-") || base.base().isPresent()) {
            throw PveError.die("clone_image only works on base images");
        }
        Path baseDir = path(base);
        try {
            for (int n = 0; ; n++) {
                String name = "subvol-" + newid + "-disk-" + n;
                Path p = dir(base.storage()).resolve(name);
                if (Files.exists(p)) {
                    continue;
                }
                Files.createDirectory(p);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                Path upper = Files.createDirectory(p.resolve("upper"));
                Files.createDirectory(p.resolve("work"));
                // the merged root takes the upper root's owner and mode: copy the base's
                Files.setPosixFilePermissions(upper, Files.getPosixFilePermissions(baseDir));
                Files.setAttribute(upper, "unix:uid", Files.getAttribute(baseDir, "unix:uid"));
                Files.setAttribute(upper, "unix:gid", Files.getAttribute(baseDir, "unix:gid"));
                Properties meta = meta(base.storage(), base.name());
                meta.setProperty("origin", base.name());
                writeMeta(base.storage(), name, meta);
                return base.storage() + ":" + base.name() + "/" + name;
            }
        } catch (IOException e) {
            throw PveError.die("zfs error: cannot clone '" + base.name() + "': " + e.getMessage());
        }
    }

    /** A full copy of {@code srcVolid} for {@code newid} on {@code target} (linked clones copied merged). */
    String fullCopy(String srcVolid, EmulatedCluster.Storage target, int newid, Path scratch) {
        Subvol src = subvol(srcVolid);
        Properties meta = meta(src.storage(), src.name());
        Path srcDir = path(src);
        int uid;
        int gid;
        try {
            Path top = src.base().isPresent() ? srcDir.resolve("upper") : srcDir;
            uid = (int) Files.getAttribute(top, "unix:uid");
            gid = (int) Files.getAttribute(top, "unix:gid");
        } catch (IOException e) {
            throw PveError.die("cannot read volume '" + srcVolid + "': " + e.getMessage());
        }
        String volid = allocate(target, newid, Long.parseLong(meta.getProperty("refquota", "0")), uid, gid);
        Path dst = path(subvol(volid));
        try {
            if (src.base().isPresent()) {
                mount(srcVolid, scratch);
                try {
                    Exec.check(List.of("cp", "-a", "--", scratch + "/.", dst + "/"), TOOL_TIMEOUT);
                } finally {
                    Mounts.unmount(scratch);
                }
            } else {
                Exec.check(List.of("cp", "-a", "--", srcDir + "/.", dst + "/"), TOOL_TIMEOUT);
            }
        } catch (RuntimeException e) {
            free(volid, List.of());
            throw e;
        }
        return volid;
    }

    /** Mounts a container volume at {@code target}: a bind mount, or the overlay of a linked clone. */
    void mount(String volid, Path target) {
        Subvol v = subvol(volid);
        Path dir = path(v);
        if (!Files.isDirectory(dir)) {
            throw PveError.die("volume '" + volid + "' does not exist");
        }
        if (v.base().isPresent()) {
            Path lower = dir(v.storage()).resolve(v.base().get());
            Exec.check(List.of("mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=" + lower + ",upperdir=" + dir.resolve("upper") + ",workdir=" + dir.resolve("work"),
                    target.toString()), TOOL_TIMEOUT);
        } else {
            Exec.check(List.of("mount", "--bind", dir.toString(), target.toString()), TOOL_TIMEOUT);
        }
    }

    /** The directory a volume mount point binds in ({@code mpN} volumes; linked clones not supported there). */
    LxcConfigGenerator.MountSource mountSource(String volid) {
        Subvol v = subvol(volid);
        if (v.base().isPresent()) {
            throw PveError.die("emulator: linked clone volume '" + volid + "' can only be a rootfs");
        }
        return new LxcConfigGenerator.MountSource(path(v), false);
    }

    /**
     * {@code vdisk_free}: refuses a base still used by linked clones ({@code inUse} holds the volids of every
     * config), refuses a volume with mounts below it, then deletes the directory.
     */
    void free(String volid, List<String> allVolumesOnStorage) {
        Subvol v = subvol(volid);
        if (v.name().startsWith("basevol-") && v.base().isEmpty()) {
            String prefix = v.storage() + ":" + v.name() + "/";
            boolean used = allVolumesOnStorage.stream().anyMatch(x -> x.startsWith(prefix));
            if (used) {
                throw PveError.die("base volume '" + v.name() + "' is still in use by linked clones");
            }
        }
        Path dir = path(v);
        deleteTree(dir);
        try {
            Files.deleteIfExists(metaFile(v.storage(), v.name()));
        } catch (IOException e) {
            throw PveError.die("cannot remove metadata of '" + volid + "': " + e.getMessage());
        }
    }

    /** Deletes a tree without crossing into mounts (refusing when one is below it) or following symlinks. */
    static void deleteTree(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> mounted = Mounts.below(dir);
        if (!mounted.isEmpty()) {
            throw PveError.die("cannot remove '" + dir + "': still mounted: " + mounted);
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    if (exc != null && !(exc instanceof NoSuchFileException)) {
                        throw exc;
                    }
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw PveError.die("cannot remove '" + dir + "': " + e);
        }
    }

    private void requireSubvolStorage(EmulatedCluster.Storage s) {
        if (!s.type.equals("zfspool")) {
            throw PveError.die("emulator: storage '" + s.id + "' (type " + s.type + ") cannot hold container volumes on disk;"
                    + " use a zfspool storage such as local-zfs");
        }
    }

    private Path metaFile(String storage, String name) {
        return dir(storage).resolve(".meta").resolve(name);
    }

    private Properties meta(String storage, String name) {
        Properties p = new Properties();
        Path f = metaFile(storage, name);
        if (Files.isRegularFile(f)) {
            try (var in = Files.newBufferedReader(f)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }

    private void writeMeta(String storage, String name, Properties p) throws IOException {
        Path f = metaFile(storage, name);
        Files.createDirectories(f.getParent());
        Map<String, String> sorted = new LinkedHashMap<>();
        p.stringPropertyNames().stream().sorted().forEach(k -> sorted.put(k, p.getProperty(k)));
        StringBuilder b = new StringBuilder();
        sorted.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        Files.writeString(f, b.toString());
    }
}
