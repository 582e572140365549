package io.pvecri.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Checks on the on-disk state of a store. */
final class StoreAssertions {

    private StoreAssertions() {
    }

    static List<String> children(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** No record, no rootfs, no blob, no temp work. */
    static void assertNothingStored(ImageStore store) throws IOException {
        Path root = store.root();
        assertEquals(List.of(), store.list(), "records");
        assertEquals(List.of(), children(root.resolve("images")), "image directories");
        assertEquals(List.of(), children(root.resolve("blobs/sha256")), "blobs");
        assertEquals(List.of(), children(root.resolve("tmp")), "temp work");
    }

    /** Every file below {@code dir}, relative, sorted. */
    static List<String> tree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !p.equals(dir)).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }
}
