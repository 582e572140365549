package io.pvecri.image;

import java.nio.file.Path;

/**
 * A file of an image being imported.
 *
 * @param name     its name inside the layout or archive
 * @param path     where to read it
 * @param linkable the file is a private staging copy that the blob store may hardlink
 */
record SourceFile(String name, Path path, long size, boolean linkable) {
}
