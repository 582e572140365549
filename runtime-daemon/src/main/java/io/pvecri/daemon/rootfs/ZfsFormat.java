package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * {@code storage.format: zfs}. Below the configured dataset {@code D} (created if missing, with
 * {@code mountpoint=none}):
 * <pre>
 *   D/images/&lt;image hex&gt;        one per image, filled from the unpacked tree (cp -a), then
 *   D/images/&lt;image hex&gt;@base   snapshotted and unmounted; destroyed when the image is removed
 *   D/containers/&lt;container id&gt; a clone of the image's @base per container, mounted at
 *                               &lt;mountRoot&gt;/containers/&lt;id&gt;: the container's rootfs (lxc dir:)
 * </pre>
 * The image dataset is made when the image's first container is. A container's writes are its
 * clone's own blocks ({@code used}); its inodes are the clone's object count less the image's
 * (kept as the user property {@code pvecri:baseinodes} of the clone). Works with kernel ZFS and
 * with zfs-fuse (whose datasets are FUSE mounts served by the zfs-fuse daemon: that daemon must
 * keep running while containers do).
 */
public final class ZfsFormat implements RootfsFormat {
    private static final Log LOG = Log.get(ZfsFormat.class);
    private static final long BUSY_WAIT_MS = 10_000;
    static final String INODES = "pvecri:inodes";
    static final String BASE_INODES = "pvecri:baseinodes";

    private final String zfs;
    private final String root;
    private final Path mountRoot;
    private final Observer observer;
    private final Map<String, Object> imageLocks = new ConcurrentHashMap<>();
    /** Image hex to the object count of its @base snapshot, for images known to be complete. */
    private final Map<String, Long> ready = new ConcurrentHashMap<>();

    private ZfsFormat(String zfs, String root, Path mountRoot, Observer observer) {
        this.zfs = zfs;
        this.root = root;
        this.mountRoot = mountRoot;
        this.observer = observer;
    }

    /**
     * Checks that the zfs command and the dataset's pool exist, creates {@code dataset},
     * {@code dataset/images} and {@code dataset/containers} where missing.
     *
     * @throws RootfsException with a message naming what is missing and how to fix it
     */
    public static ZfsFormat open(String dataset, Path mountRoot, Observer observer) throws RootfsException {
        Optional<Path> zfs = Tools.find("zfs");
        if (zfs.isEmpty()) {
            throw new RootfsException(RootfsException.Reason.FAILED, "the zfs command is not installed "
                    + "(Debian: apt-get install zfsutils-linux for kernel ZFS, or zfs-fuse)");
        }
        String pool = dataset.contains("/") ? dataset.substring(0, dataset.indexOf('/')) : dataset;
        Command.Result p = Tools.run(zfs.get().toString(), "list", "-H", "-o", "name", pool);
        if (!p.ok()) {
            throw new RootfsException(RootfsException.Reason.FAILED, "pool '" + pool + "' of dataset '" + dataset
                    + "' is not available (" + p.describe() + "); create the pool (zpool create), import it, or "
                    + "start the ZFS daemon (zfs-fuse) first");
        }
        ZfsFormat f = new ZfsFormat(zfs.get().toString(), dataset, mountRoot, observer);
        for (String ds : List.of(dataset, f.imagesRoot(), f.containersRoot())) {
            if (!f.exists(ds)) {
                Tools.require("creating dataset " + ds, f.zfs, "create", "-p", "-o", "mountpoint=none", ds);
                LOG.info("rootfs.zfs_dataset_created", "dataset", ds);
            }
        }
        try {
            Files.createDirectories(mountRoot.resolve("containers"));
            Files.createDirectories(mountRoot.resolve("images"));
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED, "cannot create " + mountRoot + ": " + e.getMessage(), e);
        }
        return f;
    }

    @Override
    public String name() {
        return "zfs";
    }

    String imagesRoot() {
        return root + "/images";
    }

    String containersRoot() {
        return root + "/containers";
    }

    String imageDataset(String hex) {
        return imagesRoot() + "/" + hex;
    }

    String cloneDataset(String containerId) {
        return containersRoot() + "/" + containerId;
    }

    private Path imageMount(String hex) {
        return mountRoot.resolve("images").resolve(hex);
    }

    @Override
    public LaunchSpec.Rootfs prepare(String containerId, String imageId, Path imageTree) throws RootfsException {
        return Timed.call(observer, name(), "prepare", t0 -> {
            String id = Tools.containerId(containerId);
            String hex = Tools.imageHex(imageId);
            String clone = cloneDataset(id);
            Path mnt = writableLayer(id);
            synchronized (lock(hex)) {
                long base = ensureImage(hex, imageTree);
                Command.Result r = Tools.run(zfs, "clone", "-o", "mountpoint=" + mnt, "-o", BASE_INODES + "=" + base,
                        imageDataset(hex) + "@base", clone);
                if (!r.ok()) {
                    destroyQuietly(clone, mnt);
                    throw new RootfsException(RootfsException.classify(r.err()), "zfs clone for container " + id + " failed: " + r.describe());
                }
            }
            try {
                if (!Mounts.isMounted(mnt)) {
                    Tools.require("mounting " + clone, zfs, "mount", clone);
                }
            } catch (RootfsException e) {
                destroyQuietly(clone, mnt);
                throw e;
            }
            LOG.debug("rootfs.prepared", "format", "zfs", "id", id, "dataset", clone, "ms", (System.nanoTime() - t0) / 1_000_000);
            return new LaunchSpec.Rootfs.Directory(mnt);
        });
    }

    @Override
    public void release(String containerId) throws RootfsException {
        Timed.run(observer, name(), "release", _ -> {
            String id = Tools.containerId(containerId);
            destroy(cloneDataset(id), false, writableLayer(id));
        });
    }

    @Override
    public void imageRemoved(String imageId) throws RootfsException {
        Timed.run(observer, name(), "image_remove", _ -> {
            String hex = Tools.imageHex(imageId);
            synchronized (lock(hex)) {
                ready.remove(hex);
                if (exists(imageDataset(hex))) {
                    destroy(imageDataset(hex), true, imageMount(hex));
                    LOG.info("rootfs.image_removed", "format", "zfs", "image", hex, "dataset", imageDataset(hex));
                }
            }
        });
    }

    @Override
    public void recover(Map<String, String> containers, Map<String, Path> images) throws RootfsException {
        Timed.run(observer, name(), "recover", _ -> {
            Set<String> wantedImages = new HashSet<>();
            for (String id : images.keySet()) {
                wantedImages.add(Tools.imageHex(id));
            }
            Set<String> usedImages = new HashSet<>();
            for (String id : containers.values()) {
                usedImages.add(Tools.imageHex(id));
            }
            Set<String> clones = new HashSet<>();
            // One dataset's trouble must not stop the others' recovery: failures are collected.
            List<String> failures = new ArrayList<>();
            for (String[] row : table(List.of(zfs, "list", "-H", "-o", "name,mounted", "-t", "filesystem", "-r", containersRoot()))) {
                if (row.length < 2 || !row[0].startsWith(containersRoot() + "/")) {
                    continue;
                }
                String id = row[0].substring(containersRoot().length() + 1);
                try {
                    if (!containers.containsKey(id)) {
                        LOG.warn("recovery.zfs_orphan_clone_destroyed", "dataset", row[0]);
                        destroy(row[0], false, Tools.isHex64(id) ? writableLayer(id) : null);
                        continue;
                    }
                    clones.add(id);
                    if (!row[1].equals("yes")) {
                        Tools.require("mounting " + row[0], zfs, "mount", row[0]);
                        LOG.info("recovery.zfs_clone_mounted", "dataset", row[0]);
                    }
                } catch (RootfsException e) {
                    failures.add(e.getMessage());
                }
            }
            for (String id : containers.keySet()) {
                if (!clones.contains(id)) {
                    LOG.warn("recovery.zfs_clone_missing", "id", id, "dataset", cloneDataset(id),
                            "note", "the container cannot start; remove it");
                }
            }
            Set<String> snapshots = new HashSet<>();
            for (String[] row : table(List.of(zfs, "list", "-H", "-o", "name", "-t", "snapshot", "-r", imagesRoot()))) {
                snapshots.add(row[0]);
            }
            for (String[] row : table(List.of(zfs, "list", "-H", "-o", "name", "-t", "filesystem", "-r", imagesRoot()))) {
                if (!row[0].startsWith(imagesRoot() + "/")) {
                    continue;
                }
                String hex = row[0].substring(imagesRoot().length() + 1);
                boolean complete = snapshots.contains(row[0] + "@base");
                if (!complete || (!wantedImages.contains(hex) && !usedImages.contains(hex))) {
                    LOG.warn("recovery.zfs_stale_image_destroyed", "dataset", row[0], "complete", complete);
                    try {
                        destroy(row[0], true, Tools.isHex64(hex) ? imageMount(hex) : null);
                    } catch (RootfsException e) {
                        LOG.warn("recovery.zfs_stale_image_kept", "dataset", row[0], "error", e.getMessage());
                    }
                }
            }
            removeStrayDirs(mountRoot.resolve("containers"), clones);
            removeStrayDirs(mountRoot.resolve("images"), Set.of());
            if (!failures.isEmpty()) {
                throw new RootfsException(RootfsException.Reason.FAILED, "zfs format recovery: " + String.join("; ", failures));
            }
        });
    }

    @Override
    public Path writableLayer(String containerId) {
        return mountRoot.resolve("containers").resolve(containerId);
    }

    /** The clone's own bytes ({@code used}) and its objects beyond the image's. */
    @Override
    public FileTrees.Usage writableUsage(String containerId) {
        try {
            Map<String, String> p = properties(cloneDataset(Tools.containerId(containerId)), "used", BASE_INODES);
            return new FileTrees.Usage(number(p.get("used")), inodesAbove(writableLayer(containerId), p.get(BASE_INODES)));
        } catch (RootfsException e) {
            return new FileTrees.Usage(0, 0);
        }
    }

    /** Bytes of the image datasets and their snapshots; inodes as counted when each was built. */
    @Override
    public FileTrees.Usage imageUsage() {
        long bytes = 0;
        long inodes = 0;
        try {
            for (String[] row : table(List.of(zfs, "get", "-Hp", "-o", "name,property,value", "-r", "used," + INODES, imagesRoot()))) {
                if (row.length < 3 || row[0].contains("@")) {
                    continue;
                }
                if (row[0].equals(imagesRoot()) && row[1].equals("used")) {
                    bytes = number(row[2]);
                } else if (row[1].equals(INODES)) {
                    inodes += number(row[2]);
                }
            }
        } catch (RootfsException e) {
            return new FileTrees.Usage(0, 0);
        }
        return new FileTrees.Usage(bytes, inodes);
    }

    /** All clones' own bytes and objects (they are mounted outside the containers directory). */
    @Override
    public FileTrees.Usage layersOutsideContainersDir() {
        long bytes = 0;
        long inodes = 0;
        try {
            for (String[] row : table(List.of(zfs, "get", "-Hp", "-o", "name,property,value", "-r", "used," + BASE_INODES, containersRoot()))) {
                if (row.length < 3) {
                    continue;
                }
                if (row[0].equals(containersRoot()) && row[1].equals("used")) {
                    bytes = number(row[2]);
                } else if (row[1].equals(BASE_INODES) && row[0].startsWith(containersRoot() + "/")) {
                    inodes += inodesAbove(writableLayer(row[0].substring(containersRoot().length() + 1)), row[2]);
                }
            }
        } catch (RootfsException e) {
            return new FileTrees.Usage(0, 0);
        }
        return new FileTrees.Usage(bytes, inodes);
    }

    // ---- image datasets ---------------------------------------------------------------------

    private Object lock(String hex) {
        return imageLocks.computeIfAbsent(hex, k -> new Object());
    }

    /**
     * Makes {@code D/images/<hex>@base} unless it exists; returns its object count. A dataset
     * without the snapshot is an interrupted build and is made again. Caller holds the lock.
     */
    private long ensureImage(String hex, Path tree) throws RootfsException {
        Long known = ready.get(hex);
        if (known != null) {
            return known;
        }
        String ds = imageDataset(hex);
        Command.Result snap = Tools.run(zfs, "get", "-Hp", "-o", "value", INODES, ds + "@base");
        if (snap.ok()) {
            long n = number(snap.out().strip());
            ready.put(hex, n);
            return n;
        }
        try {
            return Timed.call(observer, name(), "image_build", t0 -> {
                long inodes = buildImage(ds, imageMount(hex), tree);
                ready.put(hex, inodes);
                LOG.info("rootfs.image_built", "format", "zfs", "image", hex, "dataset", ds, "inodes", inodes,
                        "ms", (System.nanoTime() - t0) / 1_000_000);
                return inodes;
            });
        } catch (RootfsException e) {
            LOG.warn("rootfs.image_build_failed", "format", "zfs", "image", hex, "error", e.getMessage());
            throw e;
        }
    }

    /**
     * Fills {@code ds} (made again if a partial one exists) from the tree, snapshots it as
     * {@code @base}, records and returns its object count, unmounts it. On failure destroys it.
     */
    private long buildImage(String ds, Path mnt, Path tree) throws RootfsException {
        try {
            if (exists(ds)) {
                LOG.warn("rootfs.zfs_partial_image_destroyed", "dataset", ds);
                destroy(ds, true, mnt);
            }
            Tools.require("creating dataset " + ds, zfs, "create", "-o", "canmount=noauto", "-o", "mountpoint=" + mnt, ds);
            Tools.require("mounting " + ds, zfs, "mount", ds);
            // -a keeps owners, modes, times, links, device nodes and (where the FS takes them) xattrs.
            Tools.require("copying the image tree " + tree + " into " + ds, Tools.LONG,
                    List.of("cp", "-a", "--", tree + "/.", mnt + "/"));
            Tools.require("snapshotting " + ds, zfs, "snapshot", ds + "@base");
            // The snapshot committed a transaction group: the object count is now final.
            long inodes = Math.max(0, Statvfs.inodesUsed(mnt));
            Tools.require("recording the inode count of " + ds, zfs, "set", INODES + "=" + inodes, ds);
            unmountDataset(ds, mnt);
            return inodes;
        } catch (RootfsException e) {
            destroyQuietly(ds, mnt);
            throw e;
        }
    }

    // ---- zfs helpers ------------------------------------------------------------------------

    private boolean exists(String ds) throws RootfsException {
        return Tools.run(zfs, "list", "-H", "-o", "name", ds).ok();
    }

    /**
     * Unmounts (waiting out "busy": a stopped container's mounts take a moment to go, and
     * zfs-fuse reports busy right after writes) and destroys {@code ds} ({@code -r}: with its
     * snapshots; never {@code -R}, which would take clones along). Then removes the mount point.
     * A dataset that does not exist is fine; one with clones fails with IN_USE.
     */
    private void destroy(String ds, boolean withSnapshots, Path mnt) throws RootfsException {
        long deadline = System.nanoTime() + BUSY_WAIT_MS * 1_000_000;
        long pause = 10;
        while (true) {
            if (mnt != null && Mounts.isMounted(mnt)) {
                Tools.run(zfs, "umount", ds);
            }
            Command.Result r = withSnapshots ? Tools.run(zfs, "destroy", "-r", ds) : Tools.run(zfs, "destroy", ds);
            String err = r.err();
            if (r.ok() || err.contains("does not exist")) {
                break;
            }
            if (err.contains("dependent clones")) {
                throw new RootfsException(RootfsException.Reason.IN_USE, ds + " still has clones (containers use it): " + r.describe());
            }
            if (!err.contains("busy") || System.nanoTime() > deadline) {
                if (err.contains("busy")) {
                    // Last resort: force the unmount, then destroy once more.
                    Tools.run(zfs, "umount", "-f", ds);
                    Command.Result again = withSnapshots ? Tools.run(zfs, "destroy", "-r", ds) : Tools.run(zfs, "destroy", ds);
                    if (again.ok()) {
                        LOG.warn("rootfs.zfs_forced_unmount", "dataset", ds);
                        break;
                    }
                }
                throw new RootfsException(RootfsException.Reason.FAILED, "destroying " + ds + " failed: " + r.describe());
            }
            Tools.sleep(pause);
            pause = Math.min(200, pause * 2);
        }
        if (mnt != null && !Mounts.isMounted(mnt)) {
            try {
                Files.deleteIfExists(mnt);
            } catch (IOException e) {
                throw new RootfsException(RootfsException.Reason.FAILED, "cannot remove the mount point " + mnt + ": " + e.getMessage(), e);
            }
        }
    }

    private void destroyQuietly(String ds, Path mnt) {
        try {
            destroy(ds, true, mnt);
        } catch (RootfsException e) {
            LOG.warn("rootfs.zfs_cleanup_failed", "dataset", ds, "error", e.getMessage());
        }
    }

    private void unmountDataset(String ds, Path mnt) throws RootfsException {
        long deadline = System.nanoTime() + BUSY_WAIT_MS * 1_000_000;
        long pause = 10;
        while (Mounts.isMounted(mnt)) {
            Command.Result r = Tools.run(zfs, "umount", ds);
            if (r.ok()) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new RootfsException(RootfsException.Reason.FAILED, "unmounting " + ds + " failed: " + r.describe());
            }
            Tools.sleep(pause);
            pause = Math.min(200, pause * 2);
        }
        try {
            Files.deleteIfExists(mnt);
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED, "cannot remove the mount point " + mnt + ": " + e.getMessage(), e);
        }
    }

    private Map<String, String> properties(String ds, String... names) throws RootfsException {
        Command.Result r = Tools.require("reading properties of " + ds, zfs, "get", "-Hp", "-o", "property,value",
                String.join(",", names), ds);
        Map<String, String> out = new HashMap<>();
        r.out().lines().map(l -> l.split("\t")).filter(f -> f.length >= 2).forEach(f -> out.put(f[0], f[1]));
        return out;
    }

    /** Tab-separated rows of a zfs command's -H output; a failing command gives no rows. */
    private static List<String[]> table(List<String> argv) throws RootfsException {
        Command.Result r = Tools.run(Tools.SHORT, argv);
        if (!r.ok()) {
            if (r.err().contains("does not exist")) {
                return List.of();
            }
            throw new RootfsException(RootfsException.Reason.FAILED, r.describe());
        }
        List<String[]> rows = new ArrayList<>();
        r.out().lines().filter(l -> !l.isBlank()).forEach(l -> rows.add(l.split("\t")));
        return rows;
    }

    private static long inodesAbove(Path mnt, String base) {
        long now = Statvfs.inodesUsed(mnt);
        return now < 0 ? 0 : Math.max(0, now - number(base));
    }

    private static long number(String v) {
        try {
            return v == null ? 0 : Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return 0; // "-": property not set
        }
    }

    /** Empty mount point directories nothing is mounted on (crash leftovers). */
    private static void removeStrayDirs(Path parent, Set<String> keep) {
        try (Stream<Path> s = Files.list(parent)) {
            for (Path d : s.toList()) {
                if (!keep.contains(d.getFileName().toString()) && !Mounts.isMounted(d) && Mounts.under(d).isEmpty()) {
                    try {
                        Files.deleteIfExists(d);
                    } catch (IOException e) {
                        LOG.warn("recovery.zfs_stray_dir_kept", "path", d, "error", e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            // the directory is created at open; nothing to clean if it cannot be listed
        }
    }
}
