package io.pvecri.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The files of an image layout or archive being imported, looked up by their relative names. */
sealed interface ImportSource permits DirectorySource, ArchiveSource {

    /** Where the import comes from, for messages. */
    String describe();

    /** The named regular file, or empty if there is none. */
    Optional<SourceFile> find(String name) throws InvalidImageException, IOException;

    /** A directory (OCI layout or extracted docker save) is read in place; a file is staged under {@code work}. */
    static ImportSource open(Path fileOrDir, Path work) throws InvalidImageException, IOException {
        if (Files.isDirectory(fileOrDir)) {
            return new DirectorySource(fileOrDir);
        }
        if (Files.isRegularFile(fileOrDir)) {
            return ArchiveSource.stage(fileOrDir, work);
        }
        throw new InvalidImageException(fileOrDir + " is neither a directory nor a regular file");
    }
}
