package io.pvecri.image;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;

/**
 * Applies image layers, in order, onto one directory tree.
 *
 * <p>Security model: the tree is private to this unpacker while it runs, so the only adversary is
 * the layer content. Every entry name is normalised to components below the root ({@code ..}
 * may not climb out). The parent directory of an entry is resolved component by component with
 * {@code lstat}: a symlink among the parents is followed <em>inside the tree</em>, as containerd
 * does (an absolute target starts again at the tree's root, {@code ..} stops at the root), so
 * real images whose later layers write through {@code /bin -> usr/bin} unpack, while nothing is
 * ever written outside the tree; the resolved path consists of real directories only, and the
 * host path built from it is never subject to symlink resolution. A non-directory parent is
 * refused. The final component is never followed: existing targets are removed before a new
 * entry is created with {@code O_EXCL}. Hardlink targets must be existing non-directories inside
 * the tree, reached without symlinks; symlinks are created verbatim. Whiteouts and opaque
 * directories resolve their parent the same way as other entries.
 */
final class LayerUnpacker {

    private static final System.Logger LOG = System.getLogger(LayerUnpacker.class.getName());
    private static final String WHITEOUT_PREFIX = ".wh.";
    private static final String OPAQUE_MARKER = ".wh..wh..opq";
    private static final String WHITEOUT_META_PREFIX = ".wh..wh.";
    private static final long MAX_ID = 0xFFFF_FFFEL;
    private static final int BUFFER = 64 * 1024;
    /** Symlinks followed while resolving one parent path (Linux's MAXSYMLINKS). */
    private static final int MAX_SYMLINKS = 40;

    private final Path root;
    /** Directory mode and times, applied at {@link #finish()} so later entries can still be written into them. */
    private final Map<String, DirMeta> deferredDirs = new LinkedHashMap<>();
    private boolean chownUnsupported;
    private boolean xattrUnsupported;

    private record DirMeta(int mode, FileTime mtime, FileTime atime) {
    }

    /** @param root an existing, empty directory private to this unpacker */
    LayerUnpacker(Path root) {
        this.root = root;
    }

    /**
     * Applies one layer blob and returns its DiffID (sha256 of the uncompressed tar stream).
     *
     * @param what names the layer for error messages, e.g. "layer 2/3 sha256:... of image ..."
     * @throws InvalidImageException the layer is corrupt, compressed with an unsupported
     *                               algorithm, or contains an entry that is refused
     * @throws IOException           writing the tree failed
     */
    Digest apply(Path blob, String mediaType, String what) throws InvalidImageException, IOException {
        try (BufferedInputStream raw = new BufferedInputStream(Files.newInputStream(blob), BUFFER)) {
            InputStream data = decompressed(raw, mediaType, what);
            MessageDigest md = Digest.sha256();
            DigestInputStream hashed = new DigestInputStream(data, md);
            BoundedTarInputStream tar = new BoundedTarInputStream(hashed);
            NavigableSet<String> written = new TreeSet<>();
            TarArchiveEntry entry;
            while ((entry = next(tar, what)) != null) {
                applyEntry(tar, entry, written, what);
            }
            try {
                hashed.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                throw corrupt(what, e);
            }
            return Digest.of(md);
        }
    }

    /** Applies the deferred directory modes and times; call once after the last layer. */
    void finish() throws IOException {
        List<String> dirs = new ArrayList<>(deferredDirs.keySet());
        dirs.sort(Comparator.comparingInt((String s) -> s.isEmpty() ? 0 : s.split("/").length).reversed());
        for (String rel : dirs) {
            Path dir = existingRealDirectory(rel);
            if (dir == null) {
                continue;
            }
            DirMeta meta = deferredDirs.get(rel);
            Files.setAttribute(dir, "unix:mode", meta.mode());
            setTimes(dir, meta.atime(), meta.mtime());
        }
        deferredDirs.clear();
    }

    // ---- stream handling -------------------------------------------------------------------

    private static InputStream decompressed(BufferedInputStream in, String mediaType, String what)
            throws InvalidImageException, IOException {
        byte[] magic = new byte[6];
        in.mark(magic.length);
        int n = in.readNBytes(magic, 0, magic.length);
        in.reset();
        if (n >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            try {
                return new GZIPInputStream(in, BUFFER);
            } catch (IOException e) {
                throw corrupt(what, e);
            }
        }
        if (n >= 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            return new ZstdLayerStream(in, what);
        }
        if (n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') {
            throw new InvalidImageException(what + " is bzip2-compressed (media type " + mediaType
                    + "); only gzip, zstd and uncompressed tar layers are supported");
        }
        if (n >= 6 && (magic[0] & 0xff) == 0xfd && magic[1] == '7' && magic[2] == 'z' && magic[3] == 'X'
                && magic[4] == 'Z' && magic[5] == 0) {
            throw new InvalidImageException(what + " is xz-compressed (media type " + mediaType
                    + "); only gzip, zstd and uncompressed tar layers are supported");
        }
        return in;
    }

    private static TarArchiveEntry next(BoundedTarInputStream tar, String what) throws InvalidImageException {
        try {
            return tar.getNextEntry();
        } catch (IOException | IllegalArgumentException e) {
            throw corrupt(what, e);
        }
    }

    private static InvalidImageException corrupt(String what, Exception e) {
        return new InvalidImageException(what + " is not a readable tar stream: " + e.getMessage(), e);
    }

    // ---- entries ---------------------------------------------------------------------------

    private void applyEntry(BoundedTarInputStream tar, TarArchiveEntry e, NavigableSet<String> written, String what)
            throws InvalidImageException, IOException {
        String entryWhat = what + " entry '" + e.getName() + "'";
        List<String> comps = TarPath.components(e.getName(), entryWhat);
        if (comps.isEmpty()) {
            if (!e.isDirectory()) {
                throw new InvalidImageException(entryWhat + ": a non-directory entry names the root");
            }
            applyOwnership(root, e, entryWhat);
            deferredDirs.put("", dirMeta(e));
            return;
        }
        String base = comps.getLast();
        List<String> parentComps = comps.subList(0, comps.size() - 1);
        if (base.startsWith(WHITEOUT_PREFIX)) {
            if (base.equals(OPAQUE_MARKER)) {
                opaque(parentComps, written, entryWhat);
            } else if (!base.startsWith(WHITEOUT_META_PREFIX)) {
                whiteout(parentComps, base.substring(WHITEOUT_PREFIX.length()), written, entryWhat);
            }
            return;
        }
        String rel;
        try {
            List<String> realParent = resolveParent(parentComps, true, entryWhat);
            Path parent = pathOf(realParent);
            rel = realParent.isEmpty() ? base : TarPath.join(realParent) + "/" + base;
            Path target = parent.resolve(base);
            byte flag = e.getLinkFlag();
            if (e.isDirectory()) {
                directory(target, rel, e, entryWhat);
            } else if (flag == TarConstants.LF_SYMLINK) {
                symlink(target, rel, e, entryWhat);
            } else if (flag == TarConstants.LF_LINK) {
                hardlink(target, rel, e, entryWhat);
            } else if (flag == TarConstants.LF_CHR || flag == TarConstants.LF_BLK || flag == TarConstants.LF_FIFO) {
                special(target, rel, e, entryWhat);
            } else if (flag == TarConstants.LF_NORMAL || flag == TarConstants.LF_OLDNORM
                    || flag == TarConstants.LF_CONTIG || e.isSparse()) {
                regularFile(tar, target, rel, e, entryWhat, what);
            } else {
                LOG.log(System.Logger.Level.WARNING, "{0}: skipping unsupported tar entry type ''{1}''",
                        entryWhat, (char) flag);
                return;
            }
        } catch (InvalidPathException ex) {
            throw new InvalidImageException(entryWhat + ": name cannot be represented on this host ("
                    + ex.getMessage() + "); run the daemon with a UTF-8 locale (LANG=C.UTF-8)", ex);
        }
        written.add(rel);
    }

    private void directory(Path target, String rel, TarArchiveEntry e, String what) throws IOException, InvalidImageException {
        BasicFileAttributes existing = lstat(target);
        if (existing == null || !existing.isDirectory()) {
            if (existing != null) {
                removeExisting(target, rel, existing);
            }
            Files.createDirectory(target);
        }
        applyOwnership(target, e, what);
        applyXattrs(target, e, what);
        deferredDirs.put(rel, dirMeta(e));
    }

    private void regularFile(BoundedTarInputStream tar, Path target, String rel, TarArchiveEntry e, String what,
                             String layerWhat) throws IOException, InvalidImageException {
        replace(target, rel);
        try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buf = new byte[BUFFER];
            while (true) {
                int n;
                try {
                    n = tar.read(buf);
                } catch (IOException ex) {
                    throw corrupt(layerWhat, ex);
                }
                if (n < 0) {
                    break;
                }
                out.write(buf, 0, n);
            }
        }
        applyOwnership(target, e, what);
        Files.setAttribute(target, "unix:mode", e.getMode() & 07777);
        applyXattrs(target, e, what);
        applyTimes(target, e);
    }

    private void symlink(Path target, String rel, TarArchiveEntry e, String what) throws IOException, InvalidImageException {
        String linkName = e.getLinkName();
        if (linkName == null || linkName.isEmpty()) {
            throw new InvalidImageException(what + ": symlink without a target");
        }
        if (linkName.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_TAR_NAME_BYTES) {
            throw new InvalidImageException(what + ": symlink target is longer than " + Limits.MAX_TAR_NAME_BYTES + " bytes");
        }
        if (linkName.indexOf('\0') >= 0) {
            throw new InvalidImageException(what + ": symlink target contains a NUL byte");
        }
        replace(target, rel);
        // The target is stored verbatim and never resolved here; later entries cannot write
        // through it because every parent component is lstat-checked.
        Files.createSymbolicLink(target, target.getFileSystem().getPath(linkName));
        applyOwnership(target, e, what);
        applyXattrs(target, e, what);
        applyTimes(target, e);
    }

    private void hardlink(Path target, String rel, TarArchiveEntry e, String what) throws IOException, InvalidImageException {
        String linkName = e.getLinkName();
        List<String> linkComps = TarPath.components(linkName, what + " (hardlink target '" + linkName + "')");
        if (linkComps.isEmpty()) {
            throw new InvalidImageException(what + ": hardlink to the root directory");
        }
        Path existing = root;
        for (int i = 0; i < linkComps.size(); i++) {
            existing = existing.resolve(linkComps.get(i));
            BasicFileAttributes a = lstat(existing);
            boolean last = i == linkComps.size() - 1;
            if (a == null) {
                throw new InvalidImageException(what + ": hardlink target '" + linkName
                        + "' does not exist in the image (links may only point to earlier entries)");
            }
            if (!last && (a.isSymbolicLink() || !a.isDirectory())) {
                throw new InvalidImageException(what + ": hardlink target '" + linkName + "' is reached through '"
                        + TarPath.join(linkComps.subList(0, i + 1)) + "', which is "
                        + (a.isSymbolicLink() ? "a symlink" : "not a directory") + "; refusing");
            }
            if (last && a.isDirectory()) {
                throw new InvalidImageException(what + ": hardlink target '" + linkName + "' is a directory");
            }
        }
        if (TarPath.join(linkComps).equals(rel)) {
            return; // a link to itself: nothing to do
        }
        replace(target, rel);
        Files.createLink(target, existing);
    }

    private void special(Path target, String rel, TarArchiveEntry e, String what) throws IOException, InvalidImageException {
        replace(target, rel);
        int type = switch (e.getLinkFlag()) {
            case TarConstants.LF_CHR -> Posix.S_IFCHR;
            case TarConstants.LF_BLK -> Posix.S_IFBLK;
            default -> Posix.S_IFIFO;
        };
        try {
            Posix.mknod(target, type, e.getMode() & 07777, e.getDevMajor(), e.getDevMinor());
        } catch (IOException ex) {
            LOG.log(System.Logger.Level.WARNING, "{0}: cannot create {1} node, skipping it: {2}", what,
                    type == Posix.S_IFIFO ? "FIFO" : "device", ex.getMessage());
            return;
        }
        applyOwnership(target, e, what);
        Files.setAttribute(target, "unix:mode", e.getMode() & 07777);
        applyXattrs(target, e, what);
        applyTimes(target, e);
    }

    // ---- whiteouts -------------------------------------------------------------------------

    private void whiteout(List<String> parentComps, String name, NavigableSet<String> written, String what)
            throws InvalidImageException, IOException {
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            throw new InvalidImageException(what + ": malformed whiteout");
        }
        List<String> realParent = resolveParent(parentComps, false, what);
        if (realParent == null) {
            return;
        }
        List<String> comps = new ArrayList<>(realParent);
        comps.add(name);
        String rel = TarPath.join(comps);
        if (written.contains(rel)) {
            return; // whiteouts only hide lower layers
        }
        Path target = pathOf(realParent).resolve(name);
        BasicFileAttributes a = lstat(target);
        if (a != null) {
            removeExisting(target, rel, a);
        }
    }

    private void opaque(List<String> dirComps, NavigableSet<String> written, String what)
            throws InvalidImageException, IOException {
        List<String> realDir = resolveParent(dirComps, false, what);
        if (realDir == null) {
            return;
        }
        pruneLower(pathOf(realDir), TarPath.join(realDir), written);
    }

    /** Removes everything below {@code dir} that was not written by the current layer. */
    private void pruneLower(Path dir, String rel, NavigableSet<String> written) throws IOException {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                String childRel = rel.isEmpty() ? child.getFileName().toString() : rel + "/" + child.getFileName();
                BasicFileAttributes a = lstat(child);
                if (a == null) {
                    continue;
                }
                boolean realDir = a.isDirectory() && !a.isSymbolicLink();
                if (written.contains(childRel)) {
                    if (realDir) {
                        pruneLower(child, childRel, written);
                    }
                } else if (realDir && hasWrittenDescendant(written, childRel)) {
                    pruneLower(child, childRel, written);
                } else {
                    removeExisting(child, childRel, a);
                }
            }
        }
    }

    private static boolean hasWrittenDescendant(NavigableSet<String> written, String rel) {
        String prefix = rel + "/";
        String next = written.ceiling(prefix);
        return next != null && next.startsWith(prefix);
    }

    // ---- path checks -----------------------------------------------------------------------

    /**
     * Resolves a parent path inside the tree: each component is {@code lstat}ed; a symlink is
     * followed with its target taken relative to the tree (an absolute target restarts at the
     * root, {@code ..} never climbs above it), so the result is a list of real directories
     * below the root.
     *
     * @param create create missing directories (entries); otherwise return null when a
     *               component is missing or not a directory (whiteouts)
     * @return the components of the real directory, empty for the root
     */
    private List<String> resolveParent(List<String> parentComps, boolean create, String what)
            throws InvalidImageException, IOException {
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(parentComps);
        List<String> real = new ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String c = todo.removeFirst();
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (!real.isEmpty()) {
                    real.removeLast();
                }
                continue;
            }
            Path p = pathOf(real).resolve(c);
            BasicFileAttributes a = lstat(p);
            if (a == null) {
                if (!create) {
                    return null;
                }
                Files.createDirectory(p);
                real.add(c);
            } else if (a.isSymbolicLink()) {
                if (++links > MAX_SYMLINKS) {
                    throw new InvalidImageException(what + ": more than " + MAX_SYMLINKS
                            + " symlinks in its parent path (a symlink loop?)");
                }
                String target = Files.readSymbolicLink(p).toString();
                if (target.startsWith("/")) {
                    real.clear();
                }
                String[] parts = target.split("/");
                for (int k = parts.length - 1; k >= 0; k--) {
                    todo.addFirst(parts[k]);
                }
            } else if (a.isDirectory()) {
                real.add(c);
            } else if (create) {
                throw new InvalidImageException(what + ": parent '" + (real.isEmpty() ? c : TarPath.join(real) + "/" + c)
                        + "' is not a directory");
            } else {
                return null;
            }
        }
        return real;
    }

    private Path pathOf(List<String> realComps) {
        Path p = root;
        for (String c : realComps) {
            p = p.resolve(c);
        }
        return p;
    }

    /** The directory at {@code rel} if it and all its parents are real directories, else null. */
    private Path existingRealDirectory(String rel) throws IOException {
        Path p = root;
        if (!rel.isEmpty()) {
            for (String c : rel.split("/")) {
                p = p.resolve(c);
                BasicFileAttributes a = lstat(p);
                if (a == null || a.isSymbolicLink() || !a.isDirectory()) {
                    return null;
                }
            }
        }
        return p;
    }

    private void replace(Path target, String rel) throws IOException {
        BasicFileAttributes a = lstat(target);
        if (a != null) {
            removeExisting(target, rel, a);
        }
    }

    private void removeExisting(Path target, String rel, BasicFileAttributes a) throws IOException {
        if (a.isDirectory() && !a.isSymbolicLink()) {
            FileTrees.deleteRecursively(target);
            String prefix = rel + "/";
            deferredDirs.keySet().removeIf(k -> k.equals(rel) || k.startsWith(prefix));
        } else {
            Files.delete(target);
        }
    }

    private static BasicFileAttributes lstat(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    // ---- metadata --------------------------------------------------------------------------

    private void applyOwnership(Path p, TarArchiveEntry e, String what) throws InvalidImageException, IOException {
        long uid = e.getLongUserId();
        long gid = e.getLongGroupId();
        if (uid < 0 || uid > MAX_ID || gid < 0 || gid > MAX_ID) {
            throw new InvalidImageException(what + ": uid/gid " + uid + "/" + gid + " out of range");
        }
        if (chownUnsupported) {
            return;
        }
        try {
            Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.FileSystemException ex) {
            if (uid == 0 && gid == 0) {
                return;
            }
            chownUnsupported = true;
            LOG.log(System.Logger.Level.WARNING, "{0}: cannot set ownership ({1}); not running as root? "
                    + "Further ownership changes of this image are skipped", what, ex.getMessage());
        }
    }

    private static DirMeta dirMeta(TarArchiveEntry e) {
        FileTime mtime = e.getLastModifiedTime();
        FileTime atime = e.getLastAccessTime() != null ? e.getLastAccessTime() : mtime;
        return new DirMeta(e.getMode() & 07777, mtime, atime);
    }

    private static void applyTimes(Path p, TarArchiveEntry e) throws IOException {
        FileTime mtime = e.getLastModifiedTime();
        FileTime atime = e.getLastAccessTime() != null ? e.getLastAccessTime() : mtime;
        setTimes(p, atime, mtime);
    }

    /** Path-based utimensat: never opens the file (FIFOs, devices) and never follows a final symlink. */
    private static void setTimes(Path p, FileTime atime, FileTime mtime) {
        try {
            Posix.lutimes(p, atime, mtime);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot set times of {0}: {1}", p, e.getMessage());
        }
    }

    private void applyXattrs(Path p, TarArchiveEntry e, String what) {
        Map<String, String> pax = e.getExtraPaxHeaders();
        if (pax.isEmpty()) {
            return;
        }
        Map<String, byte[]> xattrs = new HashMap<>();
        for (Map.Entry<String, String> h : pax.entrySet()) {
            String key = h.getKey();
            if (key.startsWith("SCHILY.xattr.")) {
                String name = key.substring("SCHILY.xattr.".length());
                String value = h.getValue();
                if (value.indexOf('\uFFFD') >= 0) {
                    // Commons Compress decodes PAX values as UTF-8, which loses binary values.
                    LOG.log(System.Logger.Level.WARNING, "{0}: xattr {1} has a binary value that cannot be "
                            + "recovered from SCHILY.xattr, skipping it", what, name);
                    continue;
                }
                xattrs.putIfAbsent(name, value.getBytes(StandardCharsets.UTF_8));
            } else if (key.startsWith("LIBARCHIVE.xattr.")) {
                try {
                    String name = URLDecoder.decode(key.substring("LIBARCHIVE.xattr.".length()), StandardCharsets.UTF_8);
                    xattrs.put(name, Base64.getDecoder().decode(h.getValue().strip()));
                } catch (IllegalArgumentException ex) {
                    LOG.log(System.Logger.Level.WARNING, "{0}: malformed {1}, skipping it", what, key);
                }
            }
        }
        for (Map.Entry<String, byte[]> x : xattrs.entrySet()) {
            String name = x.getKey();
            if (!XattrPolicy.allowed(name)) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: not applying xattr {1}", what, name);
                continue;
            }
            if (xattrUnsupported) {
                continue;
            }
            try {
                Posix.lsetxattr(p, name, x.getValue());
            } catch (Posix.NativeException ex) {
                if (ex.errno() == Posix.ENOTSUP) {
                    xattrUnsupported = true;
                    LOG.log(System.Logger.Level.WARNING, "{0}: the image store file system does not support "
                            + "xattrs ({1}); skipping xattrs of this image", what, ex.getMessage());
                } else {
                    LOG.log(System.Logger.Level.WARNING, "{0}: cannot set xattr {1}: {2}", what, name, ex.getMessage());
                }
            } catch (IOException ex) {
                LOG.log(System.Logger.Level.WARNING, "{0}: cannot set xattr {1}: {2}", what, name, ex.getMessage());
            }
        }
    }

    /** Which extended attributes from an image are applied to the unpacked tree. */
    static final class XattrPolicy {
        private XattrPolicy() {
        }

        /**
         * File capabilities, POSIX ACLs and user attributes. Never {@code trusted.*} or
         * {@code user.overlay.*}: the tree becomes an overlayfs lower layer, and overlay's own
         * xattrs (opaque, redirect, metacopy) must not be forgeable by an image.
         */
        static boolean allowed(String name) {
            if (name.startsWith("user.")) {
                return !name.startsWith("user.overlay.");
            }
            return name.equals("security.capability")
                    || name.equals("system.posix_acl_access")
                    || name.equals("system.posix_acl_default");
        }
    }
}
