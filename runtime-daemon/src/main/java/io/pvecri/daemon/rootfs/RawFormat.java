package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * {@code storage.format: raw}: one ext4 file per image, {@code <dir>/images/<hex>.ext4}, built
 * from the unpacked tree with {@code mkfs.ext4 -d} when the image's first container is made
 * (see {@link Ext4Image}). While containers of the image exist it is loop-mounted read-only at
 * {@code <dir>/mnt/<hex>} (one mount shared by them all) and is each container's overlay lower
 * dir; each container writes to its own upper dir {@code <containersDir>/<id>/upper}.
 * <p>
 * The mount is reference-counted: mounted by the first container's {@link #prepare}, unmounted
 * (which detaches its loop device: {@code mount -o loop} sets autoclear) by the last container's
 * {@link #release}. Who uses which image is kept in memory and rebuilt from the daemon's records
 * by {@link #recover}, which also mounts again what a host reboot unmounted and unmounts what
 * nothing uses. The file itself goes when the image is removed.
 */
public final class RawFormat implements RootfsFormat {
    private static final Log LOG = Log.get(RawFormat.class);
    private static final long UNMOUNT_WAIT_MS = 5000;

    private final Path dir;
    private final UpperDirs upperDirs;
    private final int headroomPercent;
    private final Observer observer;
    /** Container id to image hex, for every container whose rootfs is prepared. */
    private final Map<String, String> users = new ConcurrentHashMap<>();
    private final Map<String, Object> imageLocks = new ConcurrentHashMap<>();

    public RawFormat(Path dir, Path containersDir, int headroomPercent, Observer observer) throws RootfsException {
        this.dir = dir;
        this.upperDirs = new UpperDirs(containersDir);
        this.headroomPercent = headroomPercent;
        this.observer = observer;
        try {
            Files.createDirectories(dir.resolve("images"));
            Files.createDirectories(dir.resolve("mnt"));
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED, "cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The host tools this format runs; what is missing, as messages (empty: ready). */
    static List<String> missingTools() {
        List<String> missing = new java.util.ArrayList<>();
        for (String tool : List.of("mkfs.ext4", "debugfs", "mount", "umount", "losetup")) {
            if (Tools.find(tool).isEmpty()) {
                missing.add(tool + " not found (apt-get install " + (tool.equals("mkfs.ext4") || tool.equals("debugfs") ? "e2fsprogs" : "mount") + ")");
            }
        }
        if (!Files.exists(Path.of("/dev/loop-control"))) {
            missing.add("/dev/loop-control does not exist: the kernel has no loop device support (modprobe loop)");
        }
        return missing;
    }

    @Override
    public String name() {
        return "raw";
    }

    Path imageFile(String hex) {
        return dir.resolve("images").resolve(hex + ".ext4");
    }

    Path mountPoint(String hex) {
        return dir.resolve("mnt").resolve(hex);
    }

    @Override
    public LaunchSpec.Rootfs prepare(String containerId, String imageId, Path imageTree) throws RootfsException {
        return Timed.call(observer, name(), "prepare", t0 -> {
            String id = Tools.containerId(containerId);
            String hex = Tools.imageHex(imageId);
            synchronized (lock(hex)) {
                ensureFile(hex, imageTree);
                ensureMounted(hex);
                users.put(id, hex);
            }
            Path upper;
            try {
                upper = upperDirs.create(id);
            } catch (RootfsException e) {
                release(id);
                throw e;
            }
            LOG.debug("rootfs.prepared", "format", "raw", "id", id, "image", hex, "ms", (System.nanoTime() - t0) / 1_000_000);
            return new LaunchSpec.Rootfs.Overlay(mountPoint(hex), upper);
        });
    }

    @Override
    public void release(String containerId) throws RootfsException {
        Timed.run(observer, name(), "release", _ -> {
            String id = Tools.containerId(containerId);
            upperDirs.delete(id);
            String hex = users.get(id);
            if (hex != null) {
                synchronized (lock(hex)) {
                    users.remove(id);
                    if (!users.containsValue(hex)) {
                        unmount(hex);
                    }
                }
            }
        });
    }

    @Override
    public void imageRemoved(String imageId) throws RootfsException {
        Timed.run(observer, name(), "image_remove", _ -> {
            String hex = Tools.imageHex(imageId);
            synchronized (lock(hex)) {
                List<String> using = users.entrySet().stream().filter(e -> e.getValue().equals(hex)).map(Map.Entry::getKey).toList();
                if (!using.isEmpty()) {
                    throw new RootfsException(RootfsException.Reason.IN_USE, "the ext4 image of " + imageId
                            + " is still used by container(s) " + using);
                }
                unmount(hex);
                Path file = imageFile(hex);
                try {
                    if (Files.deleteIfExists(file)) {
                        LOG.info("rootfs.image_removed", "format", "raw", "image", hex, "file", file);
                    }
                } catch (IOException e) {
                    throw new RootfsException(RootfsException.Reason.FAILED, "cannot delete the ext4 image of " + imageId + ": " + e.getMessage(), e);
                }
            }
        });
    }

    @Override
    public void recover(Map<String, String> containers, Map<String, Path> images) throws RootfsException {
        Timed.run(observer, name(), "recover", _ -> {
            Map<String, Path> treeByHex = new HashMap<>();
            for (Map.Entry<String, Path> e : images.entrySet()) {
                treeByHex.put(Tools.imageHex(e.getKey()), e.getValue());
            }
            users.clear();
            for (Map.Entry<String, String> e : containers.entrySet()) {
                if (Tools.isHex64(e.getKey())) {
                    users.put(e.getKey(), Tools.imageHex(e.getValue()));
                }
            }
            Set<String> needed = new HashSet<>(users.values());
            // One image's trouble must not stop the others' recovery: failures are collected.
            List<String> failures = new java.util.ArrayList<>();
            for (String hex : needed) {
                synchronized (lock(hex)) {
                    try {
                        if (!Files.exists(imageFile(hex))) {
                            Path tree = treeByHex.get(hex);
                            if (tree == null) {
                                LOG.warn("recovery.raw_image_missing", "image", hex, "note",
                                        "containers of an image no longer in the store cannot start; remove them");
                                continue;
                            }
                            ensureFile(hex, tree);
                        }
                        if (!Mounts.isMounted(mountPoint(hex))) {
                            ensureMounted(hex);
                            LOG.info("recovery.raw_image_mounted", "image", hex);
                        }
                    } catch (RootfsException e) {
                        failures.add(e.getMessage());
                    }
                }
            }
            for (Path m : Mounts.under(dir.resolve("mnt"))) {
                String hex = m.getFileName().toString();
                if (!needed.contains(hex)) {
                    synchronized (lock(hex)) {
                        LOG.warn("recovery.raw_unused_mount", "path", m);
                        try {
                            unmountPath(m, imageFile(hex));
                        } catch (RootfsException e) {
                            failures.add(e.getMessage());
                        }
                    }
                }
            }
            try {
                removeUnneeded(needed, treeByHex.keySet());
            } catch (IOException e) {
                throw new RootfsException(RootfsException.Reason.FAILED, "raw format recovery failed: " + e.getMessage(), e);
            }
            if (!failures.isEmpty()) {
                throw new RootfsException(RootfsException.Reason.FAILED, "raw format recovery: " + String.join("; ", failures));
            }
        });
    }

    /** Recovery: removes mount points nothing is mounted on and ext4 files of images neither needed nor stored. */
    private void removeUnneeded(Set<String> needed, Set<String> stored) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("mnt"))) {
            for (Path m : s.toList()) {
                if (!needed.contains(m.getFileName().toString()) && !Mounts.isMounted(m)) {
                    Files.deleteIfExists(m);
                }
            }
        }
        try (Stream<Path> s = Files.list(dir.resolve("images"))) {
            for (Path f : s.toList()) {
                String name = f.getFileName().toString();
                String hex = name.length() >= 64 ? name.substring(0, 64) : "";
                boolean complete = name.equals(hex + ".ext4");
                if (!complete || (!needed.contains(hex) && !stored.contains(hex))) {
                    LOG.warn("recovery.raw_stale_file_removed", "file", f);
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    @Override
    public Path writableLayer(String containerId) {
        return upperDirs.path(containerId);
    }

    @Override
    public FileTrees.Usage writableUsage(String containerId) {
        return upperDirs.usage(containerId);
    }

    /** The ext4 files' apparent sizes (the headroom included), one inode each. */
    @Override
    public FileTrees.Usage imageUsage() {
        long bytes = 0;
        long files = 0;
        try (Stream<Path> s = Files.list(dir.resolve("images"))) {
            for (Path f : s.toList()) {
                try {
                    bytes += Files.size(f);
                    files++;
                } catch (IOException e) {
                    // removed meanwhile
                }
            }
        } catch (IOException e) {
            return new FileTrees.Usage(0, 0);
        }
        return new FileTrees.Usage(bytes, files);
    }

    @Override
    public FileTrees.Usage layersOutsideContainersDir() {
        return new FileTrees.Usage(0, 0);
    }

    // ---- per image -------------------------------------------------------------------------

    private Object lock(String hex) {
        return imageLocks.computeIfAbsent(hex, k -> new Object());
    }

    /** Builds the image's ext4 file unless it exists. Caller holds the image's lock. */
    private void ensureFile(String hex, Path tree) throws RootfsException {
        Path file = imageFile(hex);
        if (Files.exists(file)) {
            return;
        }
        try {
            Timed.run(observer, name(), "image_build", t0 -> {
                Ext4Image.Size size = Ext4Image.build(tree, file, headroomPercent);
                LOG.info("rootfs.image_built", "format", "raw", "image", hex, "file", file, "bytes", size.bytes(),
                        "inodes", size.inodes(), "ms", (System.nanoTime() - t0) / 1_000_000);
            });
        } catch (RootfsException e) {
            LOG.warn("rootfs.image_build_failed", "format", "raw", "image", hex, "error", e.getMessage());
            throw e;
        }
    }

    /** Loop-mounts the image read-only unless it is mounted. Caller holds the image's lock. */
    private void ensureMounted(String hex) throws RootfsException {
        Path mnt = mountPoint(hex);
        if (Mounts.isMounted(mnt)) {
            return;
        }
        try {
            Files.createDirectories(mnt);
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED, "cannot create " + mnt + ": " + e.getMessage(), e);
        }
        Command.Result r = Tools.run(Tools.SHORT, List.of("mount", "-t", "ext4", "-o", "ro,loop", imageFile(hex).toString(), mnt.toString()));
        if (!r.ok()) {
            try {
                Files.deleteIfExists(mnt);
            } catch (IOException ignored) {
                // an empty directory; recovery removes it
            }
            throw new RootfsException(RootfsException.Reason.FAILED, "loop-mounting " + imageFile(hex) + " failed: " + r.describe());
        }
        LOG.debug("rootfs.raw_mounted", "image", hex, "path", mnt);
    }

    /** Unmounts the image if mounted and removes its mount point. Caller holds the image's lock. */
    private void unmount(String hex) throws RootfsException {
        unmountPath(mountPoint(hex), imageFile(hex));
    }

    /**
     * {@code umount}, retried while the mount is busy (a container's mount namespace can take a
     * moment to go after its processes); after {@value #UNMOUNT_WAIT_MS} ms a lazy unmount
     * detaches it (the loop device then goes when its last user does). Then no loop device may
     * remain on the file.
     */
    private void unmountPath(Path mnt, Path file) throws RootfsException {
        long deadline = System.nanoTime() + UNMOUNT_WAIT_MS * 1_000_000;
        long pause = 10;
        while (Mounts.isMounted(mnt)) {
            Command.Result r = Tools.run("umount", mnt.toString());
            if (r.ok() || !Mounts.isMounted(mnt)) {
                break;
            }
            if (System.nanoTime() > deadline) {
                LOG.warn("rootfs.raw_lazy_unmount", "path", mnt, "error", r.err());
                Tools.require("lazy unmount of " + mnt, "umount", "-l", mnt.toString());
                break;
            }
            Tools.sleep(pause);
            pause = Math.min(200, pause * 2);
        }
        try {
            Files.deleteIfExists(mnt);
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED, "cannot remove the mount point " + mnt + ": " + e.getMessage(), e);
        }
        detachLoops(file);
    }

    /**
     * Waits up to a second for the loop devices backed by {@code file} to go (the kernel clears an
     * autoclear loop device asynchronously after the unmount), then detaches any left.
     */
    private static void detachLoops(Path file) throws RootfsException {
        if (!Files.exists(file)) {
            return;
        }
        List<String> devices = List.of();
        for (int i = 0; i < 20; i++) {
            devices = Tools.run("losetup", "-n", "-O", "NAME", "-j", file.toString()).out().lines()
                    .map(String::strip).filter(l -> l.startsWith("/dev/")).toList();
            if (devices.isEmpty()) {
                return;
            }
            Tools.sleep(50);
        }
        for (String dev : devices) {
            Command.Result d = Tools.run("losetup", "-d", dev);
            LOG.warn("rootfs.raw_loop_detached", "device", dev, "file", file, "ok", d.ok());
        }
    }
}
