package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds a read-only ext4 image file from a directory tree with {@code mkfs.ext4 -d} (no journal,
 * no reserved blocks, no resize inode: it is never written or grown). The size is computed from
 * the tree (see {@link #estimate}); if mkfs still runs out of blocks the size is doubled, at most
 * twice. {@code lost+found} is removed and the root directory gets the tree root's owner and mode,
 * so the container sees exactly the image's tree.
 */
final class Ext4Image {
    private static final Log LOG = Log.get(Ext4Image.class);
    static final long BLOCK = 4096;
    private static final long MIB = 1 << 20;
    private static final int INODE_SIZE = 256;
    private static final int ATTEMPTS = 3;

    private Ext4Image() {}

    /** What the tree needs: bytes of data blocks (files, directories, long symlinks) and inodes. */
    record Need(long dataBytes, long inodes) {}

    /** Image size and inode count for {@code need} with {@code headroomPercent} extra. */
    record Size(long bytes, long inodes) {}

    /**
     * Walks the tree once without following symlinks. Regular files count their size rounded up
     * to 4 KiB blocks (hard links once); a directory one block plus ~(8 + name) bytes per entry;
     * a symlink whose target has 60 bytes or more one block (shorter ones live in the inode).
     */
    static Need measure(Path tree) throws IOException {
        long[] acc = new long[2];
        Set<Object> seen = new HashSet<>();
        Files.walkFileTree(tree, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                acc[1]++;
                acc[0] += BLOCK;
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                acc[0] += 8 + ((file.getFileName().toString().getBytes(StandardCharsets.UTF_8).length + 3) & ~3); // dir entry
                Object key = attrs.fileKey();
                if (key != null && !seen.add(key)) {
                    return FileVisitResult.CONTINUE; // another name of an inode already counted
                }
                acc[1]++;
                if (attrs.isRegularFile()) {
                    acc[0] += (attrs.size() + BLOCK - 1) / BLOCK * BLOCK;
                } else if (attrs.isSymbolicLink()) {
                    int len = Files.readSymbolicLink(file).toString().getBytes(StandardCharsets.UTF_8).length;
                    if (len >= 60) {
                        acc[0] += BLOCK;
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return new Need(acc[0], acc[1]);
    }

    /**
     * {@code data × (1 + headroom)} plus metadata: the inode table (256 bytes per inode), block
     * and inode bitmaps, group descriptors and extent blocks (1/64 of the data), and 4 MiB for
     * the superblock copies and mkfs's own reservations; rounded up to 1 MiB. Inodes: the tree's
     * count × (1 + headroom) + 64.
     */
    static Size estimate(Need need, int headroomPercent) {
        long inodes = need.inodes() * (100 + headroomPercent) / 100 + 64;
        long bytes = need.dataBytes() * (100 + headroomPercent) / 100 + need.dataBytes() / 64
                + inodes * INODE_SIZE + 4 * MIB;
        return new Size((bytes + MIB - 1) / MIB * MIB, inodes);
    }

    /** Builds {@code target} from {@code tree}; on failure nothing is left at {@code target}. */
    static Size build(Path tree, Path target, int headroomPercent) throws RootfsException {
        Need need;
        try {
            need = measure(tree);
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED, "cannot measure the image tree " + tree + ": " + e.getMessage(), e);
        }
        Size size = estimate(need, headroomPercent);
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp-" + System.nanoTime());
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    format(tree, tmp, size);
                    break;
                } catch (RootfsException e) {
                    if (e.reason() != RootfsException.Reason.NO_SPACE || attempt == ATTEMPTS || !spaceOnHost(tmp, size.bytes() * 2)) {
                        throw e;
                    }
                    LOG.warn("rootfs.raw_image_too_small", "file", target, "bytes", size.bytes(), "inodes", size.inodes(),
                            "retry_bytes", size.bytes() * 2);
                    size = new Size(size.bytes() * 2, size.inodes() * 2);
                }
            }
            fixRoot(tree, tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
            return size;
        } catch (IOException e) {
            throw new RootfsException(RootfsException.classify(String.valueOf(e.getMessage())),
                    "cannot write the ext4 image " + target + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                LOG.warn("rootfs.raw_tmp_not_deleted", "file", tmp, "error", e.getMessage());
            }
        }
    }

    private static boolean spaceOnHost(Path file, long bytes) {
        try {
            return Files.getFileStore(file.getParent()).getUsableSpace() > bytes;
        } catch (IOException e) {
            return false;
        }
    }

    private static void format(Path tree, Path file, Size size) throws RootfsException, IOException {
        Files.deleteIfExists(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size.bytes()); // sparse: only what mkfs writes takes space
        }
        int uid = (Integer) Files.getAttribute(tree, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int gid = (Integer) Files.getAttribute(tree, "unix:gid", LinkOption.NOFOLLOW_LINKS);
        Command.Result r = Tools.run(Tools.LONG, List.of("mkfs.ext4", "-q", "-F", "-b", Long.toString(BLOCK), "-m", "0",
                "-N", Long.toString(size.inodes()), "-O", "^has_journal,^resize_inode",
                "-E", "root_owner=" + uid + ":" + gid + ",lazy_itable_init=1,nodiscard", "-L", "pve-cri",
                "-d", tree.toString(), file.toString()));
        if (!r.ok()) {
            throw new RootfsException(RootfsException.classify(r.err()), "mkfs.ext4 of " + tree + " (" + size.bytes()
                    + " bytes, " + size.inodes() + " inodes) failed: " + r.describe());
        }
    }

    /** Removes lost+found and gives the root directory the tree root's mode. */
    private static void fixRoot(Path tree, Path file) throws RootfsException, IOException {
        int mode = (Integer) Files.getAttribute(tree, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
        Path script = file.resolveSibling(file.getFileName() + ".debugfs");
        try {
            Files.writeString(script, (Files.exists(tree.resolve("lost+found"), LinkOption.NOFOLLOW_LINKS) ? "" : "rmdir lost+found\n")
                    + "set_inode_field / mode 0" + Integer.toOctalString(040000 | mode) + "\n");
            Command.Result r = Tools.run(Tools.SHORT, List.of("debugfs", "-w", "-f", script.toString(), file.toString()));
            String errors = r.err().lines().filter(l -> !l.startsWith("debugfs ")).reduce("", (a, b) -> a + b + "; ");
            if (!r.ok() || !errors.isEmpty()) {
                throw new RootfsException(RootfsException.Reason.FAILED, "debugfs on " + file + " failed: " + r.describe());
            }
        } finally {
            Files.deleteIfExists(script);
        }
    }
}
