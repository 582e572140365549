package io.pvecri.daemon.rootfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/** A small image-like tree with every kind of entry a rootfs format must carry over, and a way to compare trees. */
final class SampleTree {
    private SampleTree() {}

    /** Writes the tree into {@code root} (created) and returns it. */
    static Path write(Path root) throws IOException {
        Files.createDirectories(root.resolve("bin"));
        Files.createDirectories(root.resolve("etc"));
        Files.createDirectories(root.resolve("home/user"));
        Files.createDirectories(root.resolve("tmp"));
        Files.writeString(root.resolve("etc/hostname"), "sample\n");
        byte[] binary = new byte[300_000];
        new java.util.Random(42).nextBytes(binary); // not zeros: mkfs.ext4 -d would make those a hole
        Files.write(root.resolve("bin/tool"), binary);
        run("chmod", "0755", root.resolve("bin/tool").toString());
        Files.createLink(root.resolve("bin/tool-hardlink"), root.resolve("bin/tool"));
        Files.createSymbolicLink(root.resolve("bin/sh"), Path.of("tool"));
        Files.createSymbolicLink(root.resolve("bin/long-link"), Path.of("/" + "x".repeat(100)));
        Files.writeString(root.resolve("home/user/secret"), "user data\n");
        run("chown", "-R", "1000:1000", root.resolve("home/user").toString());
        run("chmod", "0640", root.resolve("home/user/secret").toString());
        run("chmod", "1777", root.resolve("tmp").toString());
        run("mkfifo", root.resolve("tmp/fifo").toString());
        run("chmod", "0755", root.toString());
        return root;
    }

    /**
     * One line per entry, sorted: path, type, mode, owner, size (regular files), link target
     * (symlinks) and link count (regular files). lost+found is not part of an image.
     */
    static List<String> describe(Path root) throws IOException {
        List<String> out = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (dir.getFileName() != null && dir.getFileName().toString().equals("lost+found")) {
                    out.add("lost+found present");
                }
                out.add(line(root, dir));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                out.add(line(root, file));
                return FileVisitResult.CONTINUE;
            }
        });
        out.sort(null);
        return out;
    }

    private static String line(Path root, Path p) throws IOException {
        var a = Files.readAttributes(p, "unix:mode,uid,gid,size,nlink", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        String rel = "/" + root.relativize(p);
        String type = Files.isSymbolicLink(p) ? "l" : Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "d"
                : Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? "f" : "o";
        String extra = switch (type) {
            case "l" -> " -> " + Files.readSymbolicLink(p);
            case "f" -> " size=" + a.get("size") + " links=" + a.get("nlink");
            default -> "";
        };
        // Directory sizes differ between file systems; symlink modes are always 777.
        return rel + " " + type + " " + Integer.toOctalString(mode & 07777) + " " + a.get("uid") + ":" + a.get("gid") + extra;
    }

    static void run(String... argv) throws IOException {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", argv) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
