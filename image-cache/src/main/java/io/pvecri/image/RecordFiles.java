package io.pvecri.image;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads and atomically writes {@code images/<hex>/image.json}. */
final class RecordFiles {

    private static final System.Logger LOG = System.getLogger(RecordFiles.class.getName());

    private final StoreLayout layout;

    RecordFiles(StoreLayout layout) {
        this.layout = layout;
    }

    void write(StoredImage image) throws IOException {
        FileTrees.writeAtomically(layout.recordFile(image.hex()), Json.write(image));
    }

    /** Writes a record into a directory that is not yet in place (a staged image dir). */
    static void writeInto(Path imageDir, StoredImage image) throws IOException {
        FileTrees.writeAtomically(imageDir.resolve(StoreLayout.RECORD_FILE), Json.write(image));
    }

    /** A loaded record, or the reason an image directory is unusable. */
    sealed interface Loaded {
        record Ok(StoredImage image) implements Loaded {
        }

        /** Not an image directory of this store, or one left incomplete: safe to delete. */
        record Broken(Path dir, String reason) implements Loaded {
        }

        /** A record this version cannot read (corrupt, or written by a newer version): left alone. */
        record Unreadable(Path dir, String reason) implements Loaded {
        }
    }

    /** Loads every image directory; leftover temp files of interrupted writes are deleted. */
    List<Loaded> loadAll() throws IOException {
        List<Loaded> out = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layout.images())) {
            for (Path dir : dirs) {
                out.add(load(dir));
            }
        }
        return out;
    }

    private Loaded load(Path dir) throws IOException {
        String hex = dir.getFileName().toString();
        if (!Digest.isHex64(hex) || !Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return new Loaded.Broken(dir, "not an image directory");
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (FileTrees.isTempName(f.getFileName().toString())) {
                    LOG.log(System.Logger.Level.INFO, "removing leftover temp file {0}", f);
                    Files.deleteIfExists(f);
                }
            }
        }
        Path file = dir.resolve(StoreLayout.RECORD_FILE);
        if (!Files.isRegularFile(file)) {
            return new Loaded.Broken(dir, "no " + StoreLayout.RECORD_FILE);
        }
        if (!Files.isDirectory(dir.resolve(StoreLayout.ROOTFS_DIR), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return new Loaded.Broken(dir, "no " + StoreLayout.ROOTFS_DIR + " directory");
        }
        StoredImage image;
        try {
            image = Json.parse(Files.readAllBytes(file), StoredImage.class, file.toString());
            image.toRecord();
        } catch (InvalidImageException | RuntimeException e) {
            return new Loaded.Unreadable(dir, "unreadable record: " + e.getMessage());
        }
        if (image.schemaVersion() > StoredImage.SCHEMA_VERSION) {
            return new Loaded.Unreadable(dir, "record schema version " + image.schemaVersion()
                    + " is newer than this version understands (" + StoredImage.SCHEMA_VERSION + ")");
        }
        if (!image.id().equals(Digest.ALGORITHM + ":" + hex)) {
            return new Loaded.Broken(dir, "record id " + image.id() + " does not match the directory name");
        }
        return new Loaded.Ok(image);
    }
}
