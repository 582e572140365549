package io.pvecri.image;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Set;

/** Bytes and inodes of a directory tree (symlinks not followed, hardlinks counted once). */
record TreeUsage(long bytes, long inodes) {

    static TreeUsage of(Path root) throws IOException {
        long[] bytes = {0};
        long[] inodes = {0};
        Set<Object> seen = new HashSet<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                inodes[0]++;
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                Object key = attrs.fileKey();
                if (key == null || seen.add(key)) {
                    inodes[0]++;
                    if (attrs.isRegularFile()) {
                        bytes[0] += attrs.size();
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return new TreeUsage(bytes[0], inodes[0]);
    }
}
