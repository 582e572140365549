package io.pvecri.image;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * An image archive (OCI archive or docker-archive, optionally gzip-compressed) whose regular
 * files have been staged, flat and under generated names, into a private work directory.
 * Symlinks and hardlinks inside the archive (older {@code docker save} links duplicate layers)
 * are resolved by name within the archive, never on the file system.
 */
final class ArchiveSource implements ImportSource {

    private static final int MAX_LINK_HOPS = 40;

    private final Path archive;
    private final Map<String, SourceFile> files;
    private final Map<String, String> symlinks;

    private ArchiveSource(Path archive, Map<String, SourceFile> files, Map<String, String> symlinks) {
        this.archive = archive;
        this.files = files;
        this.symlinks = symlinks;
    }

    static ArchiveSource stage(Path archive, Path work) throws InvalidImageException, IOException {
        Path staging = Files.createDirectories(work.resolve("archive"));
        Map<String, SourceFile> files = new HashMap<>();
        Map<String, String> symlinks = new HashMap<>();
        String what = "image archive " + archive;
        try (BufferedInputStream raw = new BufferedInputStream(Files.newInputStream(archive), 64 * 1024)) {
            BoundedTarInputStream tar = new BoundedTarInputStream(decompressed(raw, what));
            int count = 0;
            TarArchiveEntry e;
            while ((e = next(tar, what)) != null) {
                if (++count > Limits.MAX_ARCHIVE_ENTRIES) {
                    throw new InvalidImageException(what + " has more than " + Limits.MAX_ARCHIVE_ENTRIES + " entries");
                }
                String entryWhat = what + ": entry '" + e.getName() + "'";
                List<String> comps = TarPath.components(e.getName(), entryWhat);
                if (comps.isEmpty() || e.isDirectory()) {
                    continue;
                }
                String name = TarPath.join(comps);
                byte flag = e.getLinkFlag();
                if (flag == TarConstants.LF_SYMLINK) {
                    files.remove(name);
                    symlinks.put(name, e.getLinkName());
                } else if (flag == TarConstants.LF_LINK) {
                    String target = TarPath.join(TarPath.components(e.getLinkName(), entryWhat + " (link target)"));
                    SourceFile t = files.get(target);
                    if (t == null) {
                        throw new InvalidImageException(entryWhat + ": hardlink target '" + e.getLinkName() + "' not found");
                    }
                    symlinks.remove(name);
                    files.put(name, new SourceFile(name, t.path(), t.size(), true));
                } else if (flag == TarConstants.LF_NORMAL || flag == TarConstants.LF_OLDNORM
                        || flag == TarConstants.LF_CONTIG) {
                    Path staged = staging.resolve(Integer.toString(count));
                    long size = copy(tar, staged, what);
                    symlinks.remove(name);
                    files.put(name, new SourceFile(name, staged, size, true));
                }
            }
        }
        return new ArchiveSource(archive, files, symlinks);
    }

    @Override
    public String describe() {
        return archive.toString();
    }

    @Override
    public Optional<SourceFile> find(String name) throws InvalidImageException {
        String what = archive + ": file '" + name + "'";
        List<String> comps = new ArrayList<>(TarPath.components(name, what));
        int hops = 0;
        restart:
        while (true) {
            for (int i = 1; i <= comps.size(); i++) {
                String prefix = TarPath.join(comps.subList(0, i));
                String link = symlinks.get(prefix);
                if (link == null) {
                    continue;
                }
                if (++hops > MAX_LINK_HOPS) {
                    throw new InvalidImageException(what + ": too many levels of symbolic links");
                }
                String base = link.startsWith("/") ? "" : TarPath.join(comps.subList(0, i - 1));
                String rest = TarPath.join(comps.subList(i, comps.size()));
                String joined = base + "/" + link + "/" + rest;
                comps = new ArrayList<>(TarPath.components(joined, what + " (via symlink '" + prefix + "')"));
                continue restart;
            }
            return Optional.ofNullable(files.get(TarPath.join(comps)));
        }
    }

    private static InputStream decompressed(BufferedInputStream in, String what) throws InvalidImageException, IOException {
        byte[] magic = new byte[4];
        in.mark(magic.length);
        int n = in.readNBytes(magic, 0, magic.length);
        in.reset();
        if (n >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            try {
                return new GZIPInputStream(in, 64 * 1024);
            } catch (IOException e) {
                throw new InvalidImageException(what + " is not a readable gzip stream: " + e.getMessage(), e);
            }
        }
        if (n >= 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            throw new InvalidImageException(what + " is zstd-compressed; decompress it first (zstd -d)");
        }
        return in;
    }

    private static TarArchiveEntry next(BoundedTarInputStream tar, String what) throws InvalidImageException {
        try {
            return tar.getNextEntry();
        } catch (IOException | IllegalArgumentException e) {
            throw new InvalidImageException(what + " is not a readable tar archive: " + e.getMessage(), e);
        }
    }

    private static long copy(BoundedTarInputStream tar, Path target, String what) throws InvalidImageException, IOException {
        long total = 0;
        try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[64 * 1024];
            while (true) {
                int n;
                try {
                    n = tar.read(buf);
                } catch (IOException e) {
                    throw new InvalidImageException(what + " is truncated or corrupt: " + e.getMessage(), e);
                }
                if (n < 0) {
                    return total;
                }
                out.write(buf, 0, n);
                total += n;
            }
        }
    }
}
