package io.pvecri.image.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Test images for the image cache and the daemon's end-to-end tests: a real busybox image
 * (from Debian's {@code busybox-static}) in the three import forms, and builders for odd or
 * hostile layers. All output is deterministic: the same arguments give the same bytes, so the
 * image id of the busybox image is the same in every form.
 */
public final class TestImages {

    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
    public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    public static final String REF_NAME = "org.opencontainers.image.ref.name";
    public static final String CONTAINERD_NAME = "io.containerd.image.name";
    /** mtime of every entry the fixtures write. */
    public static final Instant TIMESTAMP = Instant.parse("2024-01-01T00:00:00Z");
    public static final String BUSYBOX_BINARY = "/bin/busybox";
    public static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private static final ObjectMapper JSON = JsonMapper.builder().disable(SerializationFeature.INDENT_OUTPUT).build();
    private static byte[] busyboxLayer;

    private TestImages() {
    }

    // ---- the busybox image -----------------------------------------------------------------

    /**
     * Writes the busybox image as an OCI image layout into {@code dir} (created if missing).
     *
     * @param refName value of the {@code org.opencontainers.image.ref.name} annotation, e.g.
     *                {@code docker.io/library/busybox:test}; null for none
     */
    public static Path busyboxLayout(Path dir, String refName) throws IOException {
        return layout(dir, refName, List.of(busyboxLayerTar()), ImageConfigJson.defaults());
    }

    /** The busybox image as an OCI archive (a tar of the layout). */
    public static Path busyboxOciArchive(Path tarFile, String refName) throws IOException {
        Path dir = Files.createTempDirectory(parentOf(tarFile), "layout");
        try {
            busyboxLayout(dir, refName);
            return ociArchive(tarFile, dir);
        } finally {
            deleteTree(dir);
        }
    }

    /** The busybox image as a classic {@code docker save} archive (config json, {@code <id>/layer.tar}). */
    public static Path busyboxDockerArchive(Path tarFile, String repoTag) throws IOException {
        return dockerArchive(tarFile, repoTag, List.of(busyboxLayerTar()), ImageConfigJson.defaults());
    }

    /** The busybox image as Docker 25+ writes it: an OCI layout plus manifest.json, uncompressed layers. */
    public static Path busyboxDockerArchiveOciStyle(Path tarFile, String repoTag) throws IOException {
        return dockerArchiveOciStyle(tarFile, repoTag, List.of(busyboxLayerTar()), ImageConfigJson.defaults());
    }

    /** Facts about the busybox image as the fixtures write it in OCI form. */
    public static LayoutInfo busyboxInfo(Path scratchDir) throws IOException {
        Path dir = Files.createTempDirectory(scratchDir, "info");
        try {
            return inspect(busyboxLayout(dir, null));
        } finally {
            deleteTree(dir);
        }
    }

    /** The uncompressed busybox layer tar (cached). */
    public static synchronized byte[] busyboxLayerTar() throws IOException {
        if (busyboxLayer == null) {
            busyboxLayer = buildBusyboxLayer();
        }
        return busyboxLayer.clone();
    }

    /** The applets of {@code busybox --list}, each a symlink {@code /bin/<applet> -> busybox} in the image. */
    public static List<String> busyboxApplets() throws IOException {
        Process p = new ProcessBuilder(BUSYBOX_BINARY, "--list").redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try {
            if (p.waitFor() != 0) {
                throw new IOException(BUSYBOX_BINARY + " --list failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return out.lines().map(String::strip).filter(s -> !s.isEmpty() && !s.equals("busybox"))
                .filter(s -> !s.contains("/")).distinct().sorted().toList();
    }

    private static byte[] buildBusyboxLayer() throws IOException {
        Path bin = Path.of(BUSYBOX_BINARY);
        if (!Files.isRegularFile(bin)) {
            throw new IllegalStateException(BUSYBOX_BINARY + " is missing: apt-get install -y busybox-static");
        }
        byte[] busybox = Files.readAllBytes(bin);
        if (!isStaticElf(busybox)) {
            throw new IllegalStateException(BUSYBOX_BINARY + " is dynamically linked; the test image needs "
                    + "Debian's busybox-static (apt-get install -y busybox-static)");
        }
        TarBuilder t = tar()
                .dir("bin/", 0755)
                .file("bin/busybox", busybox, 0755, 0, 0);
        for (String applet : busyboxApplets()) {
            t.symlink("bin/" + applet, "busybox");
        }
        return t.dir("etc/", 0755)
                .file("etc/passwd", ("root:x:0:0:root:/root:/bin/sh\n"
                        + "app:x:1000:1000:app:/home/app:/bin/sh\n"
                        + "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n").getBytes(StandardCharsets.UTF_8),
                        0644, 0, 0)
                .file("etc/group", "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n".getBytes(StandardCharsets.UTF_8),
                        0644, 0, 0)
                .dir("tmp/", 01777)
                .dir("root/", 0700)
                .dir("home/", 0755)
                .dir("home/app/", 0755, 1000, 1000)
                .dir("dev/", 0755)
                .dir("proc/", 0555)
                .dir("sys/", 0555)
                .dir("run/", 0755)
                .dir("var/", 0755)
                .build();
    }

    /** True for an ELF without a PT_INTERP program header (a static or static-pie executable). */
    static boolean isStaticElf(byte[] elf) {
        if (elf.length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2) {
            return false;
        }
        ByteBuffer b = ByteBuffer.wrap(elf).order(elf[5] == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        for (int i = 0; i < phnum; i++) {
            long off = phoff + (long) i * phentsize;
            if (off + 4 > elf.length) {
                return false;
            }
            if (b.getInt((int) off) == 3) { // PT_INTERP
                return false;
            }
        }
        return true;
    }

    // ---- generic builders ------------------------------------------------------------------

    /** The image config document the builders write (serialised with fixed field order). */
    public record ImageConfigJson(String architecture, String os, List<String> entrypoint, List<String> cmd,
                                  List<String> env, String workingDir, String user, String stopSignal,
                                  Map<String, String> labels, List<String> exposedPorts, List<String> volumes) {

        public static ImageConfigJson defaults() {
            return new ImageConfigJson("amd64", "linux", null, List.of("sh"), List.of(DEFAULT_PATH),
                    null, null, null, null, null, null);
        }

        public ImageConfigJson withCmd(List<String> v) {
            return new ImageConfigJson(architecture, os, entrypoint, v, env, workingDir, user, stopSignal, labels,
                    exposedPorts, volumes);
        }

        public ImageConfigJson withEntrypoint(List<String> v) {
            return new ImageConfigJson(architecture, os, v, cmd, env, workingDir, user, stopSignal, labels,
                    exposedPorts, volumes);
        }

        public ImageConfigJson withEnv(List<String> v) {
            return new ImageConfigJson(architecture, os, entrypoint, cmd, v, workingDir, user, stopSignal, labels,
                    exposedPorts, volumes);
        }

        public ImageConfigJson withWorkingDir(String v) {
            return new ImageConfigJson(architecture, os, entrypoint, cmd, env, v, user, stopSignal, labels,
                    exposedPorts, volumes);
        }

        public ImageConfigJson withUser(String v) {
            return new ImageConfigJson(architecture, os, entrypoint, cmd, env, workingDir, v, stopSignal, labels,
                    exposedPorts, volumes);
        }

        public ImageConfigJson withStopSignal(String v) {
            return new ImageConfigJson(architecture, os, entrypoint, cmd, env, workingDir, user, v, labels,
                    exposedPorts, volumes);
        }

        public ImageConfigJson withLabels(Map<String, String> v) {
            return new ImageConfigJson(architecture, os, entrypoint, cmd, env, workingDir, user, stopSignal, v,
                    exposedPorts, volumes);
        }

        public ImageConfigJson withExposedPorts(List<String> v) {
            return new ImageConfigJson(architecture, os, entrypoint, cmd, env, workingDir, user, stopSignal, labels,
                    v, volumes);
        }

        public ImageConfigJson withVolumes(List<String> v) {
            return new ImageConfigJson(architecture, os, entrypoint, cmd, env, workingDir, user, stopSignal, labels,
                    exposedPorts, v);
        }

        public ImageConfigJson withArchitecture(String v) {
            return new ImageConfigJson(v, os, entrypoint, cmd, env, workingDir, user, stopSignal, labels,
                    exposedPorts, volumes);
        }

        /** The config JSON bytes for the given layer DiffIDs. */
        public byte[] toJson(List<String> diffIds) {
            Map<String, Object> config = new LinkedHashMap<>();
            putIfNotNull(config, "User", user);
            if (exposedPorts != null) {
                Map<String, Object> ports = new LinkedHashMap<>();
                exposedPorts.forEach(p -> ports.put(p, Map.of()));
                config.put("ExposedPorts", ports);
            }
            putIfNotNull(config, "Env", env);
            putIfNotNull(config, "Entrypoint", entrypoint);
            putIfNotNull(config, "Cmd", cmd);
            if (volumes != null) {
                Map<String, Object> vols = new LinkedHashMap<>();
                volumes.forEach(v -> vols.put(v, Map.of()));
                config.put("Volumes", vols);
            }
            putIfNotNull(config, "WorkingDir", workingDir);
            putIfNotNull(config, "Labels", labels == null ? null : new java.util.TreeMap<>(labels));
            putIfNotNull(config, "StopSignal", stopSignal);
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("architecture", architecture);
            doc.put("created", TIMESTAMP.toString());
            doc.put("os", os);
            doc.put("config", config);
            Map<String, Object> rootfs = new LinkedHashMap<>();
            rootfs.put("type", "layers");
            rootfs.put("diff_ids", diffIds);
            doc.put("rootfs", rootfs);
            List<Map<String, Object>> history = new ArrayList<>();
            for (int i = 0; i < diffIds.size(); i++) {
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("created", TIMESTAMP.toString());
                h.put("created_by", "pve-cri TestImages layer " + i);
                history.add(h);
            }
            doc.put("history", history);
            return json(doc);
        }

        private static void putIfNotNull(Map<String, Object> m, String k, Object v) {
            if (v != null) {
                m.put(k, v);
            }
        }
    }

    /**
     * A layer as stored in an image: the blob bytes, their media type and the DiffID the config
     * lists for them (normally the sha256 of the uncompressed tar; tests may lie).
     */
    public record Layer(byte[] blob, String mediaType, String diffId) {
        public static Layer gzip(byte[] tar) {
            return new Layer(TestImages.gzip(tar), OCI_LAYER_GZIP, sha256(tar));
        }

        public static Layer uncompressed(byte[] tar) {
            return new Layer(tar, OCI_LAYER, sha256(tar));
        }

        public Layer withDiffId(String d) {
            return new Layer(blob, mediaType, d);
        }

        public Layer withMediaType(String m) {
            return new Layer(blob, m, diffId);
        }
    }

    /** Digests of the single image in a layout written by these builders. */
    public record LayoutInfo(String manifestDigest, String configDigest, List<String> layerDigests) {
        /** The image id the store assigns: the config digest. */
        public String imageId() {
            return configDigest;
        }
    }

    /** OCI layout with the given uncompressed layer tars, each stored gzip-compressed. */
    public static Path layout(Path dir, String refName, List<byte[]> layerTars, ImageConfigJson config)
            throws IOException {
        return layoutWithLayers(dir, refName, layerTars.stream().map(Layer::gzip).toList(), config);
    }

    /** OCI layout with layers exactly as given (any compression, media type, DiffID). */
    public static Path layoutWithLayers(Path dir, String refName, List<Layer> layers, ImageConfigJson config)
            throws IOException {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        byte[] configBytes = config.toJson(layers.stream().map(Layer::diffId).toList());
        String configDigest = writeBlob(dir, configBytes);
        List<Object> layerDescs = new ArrayList<>();
        for (Layer l : layers) {
            layerDescs.add(descriptor(l.mediaType(), writeBlob(dir, l.blob()), l.blob().length, null));
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", OCI_MANIFEST);
        manifest.put("config", descriptor(OCI_CONFIG, configDigest, configBytes.length, null));
        manifest.put("layers", layerDescs);
        byte[] manifestBytes = json(manifest);
        String manifestDigest = writeBlob(dir, manifestBytes);
        Map<String, String> annotations = refName == null ? null : Map.of(REF_NAME, refName);
        writeIndex(dir, List.of(descriptor(OCI_MANIFEST, manifestDigest, manifestBytes.length, annotations)));
        return dir;
    }

    /** Writes {@code oci-layout} and an {@code index.json} listing the given descriptors. */
    public static void writeIndex(Path dir, List<Object> descriptors) throws IOException {
        Files.write(dir.resolve("oci-layout"), json(Map.of("imageLayoutVersion", "1.0.0")));
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("schemaVersion", 2);
        index.put("mediaType", OCI_INDEX);
        index.put("manifests", descriptors);
        Files.write(dir.resolve("index.json"), json(index));
    }

    /** A descriptor map (for hand-built indexes). */
    public static Map<String, Object> descriptor(String mediaType, String digest, long size,
                                                 Map<String, String> annotations) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("mediaType", mediaType);
        d.put("digest", digest);
        d.put("size", size);
        if (annotations != null) {
            d.put("annotations", annotations);
        }
        return d;
    }

    /** Stores {@code content} as a blob of the layout and returns its digest. */
    public static String writeBlob(Path layoutDir, byte[] content) throws IOException {
        String digest = sha256(content);
        Path p = blobPath(layoutDir, digest);
        Files.createDirectories(p.getParent());
        Files.write(p, content);
        return digest;
    }

    public static Path blobPath(Path layoutDir, String digest) {
        return layoutDir.resolve("blobs").resolve("sha256").resolve(digest.substring("sha256:".length()));
    }

    /** Reads back the digests of the (first) image of a layout. */
    public static LayoutInfo inspect(Path layoutDir) throws IOException {
        Map<?, ?> index = JSON.readValue(layoutDir.resolve("index.json").toFile(), Map.class);
        Map<?, ?> first = (Map<?, ?>) ((List<?>) index.get("manifests")).getFirst();
        String manifestDigest = (String) first.get("digest");
        Map<?, ?> manifest = JSON.readValue(blobPath(layoutDir, manifestDigest).toFile(), Map.class);
        String configDigest = (String) ((Map<?, ?>) manifest.get("config")).get("digest");
        List<String> layers = ((List<?>) manifest.get("layers")).stream()
                .map(l -> (String) ((Map<?, ?>) l).get("digest")).toList();
        return new LayoutInfo(manifestDigest, configDigest, layers);
    }

    /** Tars a layout directory into an OCI archive. */
    public static Path ociArchive(Path tarFile, Path layoutDir) throws IOException {
        TarBuilder t = tar();
        List<Path> files;
        try (var s = Files.walk(layoutDir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            t.file(layoutDir.relativize(f).toString(), Files.readAllBytes(f), 0644, 0, 0);
        }
        Files.write(tarFile, t.build());
        return tarFile;
    }

    /** A classic docker-archive: {@code <config hex>.json}, {@code <id>/layer.tar} (uncompressed), manifest.json. */
    public static Path dockerArchive(Path tarFile, String repoTag, List<byte[]> layerTars, ImageConfigJson config)
            throws IOException {
        List<String> diffIds = layerTars.stream().map(TestImages::sha256).toList();
        byte[] configBytes = config.toJson(diffIds);
        String configHex = hex(sha256(configBytes));
        TarBuilder t = tar();
        List<String> layerPaths = new ArrayList<>();
        String parent = null;
        for (int i = 0; i < layerTars.size(); i++) {
            String id = hex(sha256((parent + "|" + diffIds.get(i)).getBytes(StandardCharsets.UTF_8)));
            Map<String, Object> v1 = new LinkedHashMap<>();
            v1.put("id", id);
            if (parent != null) {
                v1.put("parent", parent);
            }
            v1.put("created", TIMESTAMP.toString());
            t.dir(id + "/", 0755)
                    .file(id + "/VERSION", "1.0".getBytes(StandardCharsets.UTF_8), 0644, 0, 0)
                    .file(id + "/json", json(v1), 0644, 0, 0)
                    .file(id + "/layer.tar", layerTars.get(i), 0644, 0, 0);
            layerPaths.add(id + "/layer.tar");
            parent = id;
        }
        t.file(configHex + ".json", configBytes, 0644, 0, 0);
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("Config", configHex + ".json");
        entry.put("RepoTags", repoTag == null ? null : List.of(repoTag));
        entry.put("Layers", layerPaths);
        t.file("manifest.json", json(List.of(entry)), 0644, 0, 0);
        if (repoTag != null && parent != null) {
            int colon = repoTag.lastIndexOf(':');
            t.file("repositories", json(Map.of(repoTag.substring(0, colon),
                    Map.of(repoTag.substring(colon + 1), parent))), 0644, 0, 0);
        }
        Files.write(tarFile, t.build());
        return tarFile;
    }

    /** A Docker 25+ archive: OCI layout with uncompressed layers plus a manifest.json pointing into blobs/. */
    public static Path dockerArchiveOciStyle(Path tarFile, String repoTag, List<byte[]> layerTars,
                                             ImageConfigJson config) throws IOException {
        Path dir = Files.createTempDirectory(parentOf(tarFile), "docker-oci");
        try {
            layoutWithLayers(dir, null, layerTars.stream().map(Layer::uncompressed).toList(), config);
            LayoutInfo info = inspect(dir);
            long manifestSize = Files.size(blobPath(dir, info.manifestDigest()));
            Map<String, String> annotations = new LinkedHashMap<>();
            if (repoTag != null) {
                annotations.put(CONTAINERD_NAME, repoTag.contains("/") ? repoTag : "docker.io/library/" + repoTag);
                annotations.put(REF_NAME, repoTag.substring(repoTag.lastIndexOf(':') + 1));
            }
            writeIndex(dir, List.of(descriptor(OCI_MANIFEST, info.manifestDigest(), manifestSize,
                    annotations.isEmpty() ? null : annotations)));
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("Config", "blobs/sha256/" + hex(info.configDigest()));
            entry.put("RepoTags", repoTag == null ? null : List.of(repoTag));
            entry.put("Layers", info.layerDigests().stream().map(d -> "blobs/sha256/" + hex(d)).toList());
            Files.write(dir.resolve("manifest.json"), json(List.of(entry)));
            return ociArchive(tarFile, dir);
        } finally {
            deleteTree(dir);
        }
    }

    // ---- bytes and digests -----------------------------------------------------------------

    public static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static byte[] gunzip(byte[] data) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(data))) {
            return in.readAllBytes();
        }
    }

    /** {@code sha256:<hex>} of the bytes. */
    public static String sha256(byte[] data) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(String digest) {
        return digest.substring(digest.indexOf(':') + 1);
    }

    private static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path parentOf(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        return parent;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    // ---- tar builder -----------------------------------------------------------------------

    public static TarBuilder tar() {
        return new TarBuilder();
    }

    /**
     * Builds tar streams entry by entry. Names are written verbatim (absolute paths and
     * {@code ..} are kept), so hostile layers can be expressed. POSIX (PAX) long names.
     */
    public static final class TarBuilder {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream out;
        private Instant mtime = TIMESTAMP;

        TarBuilder() {
            out = new TarArchiveOutputStream(bytes, "UTF-8");
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            out.setAddPaxHeadersForNonAsciiNames(true);
        }

        /** mtime for the following entries. */
        public TarBuilder mtime(Instant t) {
            this.mtime = t;
            return this;
        }

        public TarBuilder dir(String name) {
            return dir(name, 0755);
        }

        public TarBuilder dir(String name, int mode) {
            return dir(name, mode, 0, 0);
        }

        public TarBuilder dir(String name, int mode, long uid, long gid) {
            TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, true);
            e.setMode(040000 | mode);
            return add(e, uid, gid, null);
        }

        public TarBuilder file(String name, String content) {
            return file(name, content.getBytes(StandardCharsets.UTF_8), 0644, 0, 0);
        }

        public TarBuilder file(String name, byte[] content, int mode, long uid, long gid) {
            return file(name, content, mode, uid, gid, Map.of());
        }

        /** A regular file with extra PAX headers, e.g. {@code SCHILY.xattr.user.foo}. */
        public TarBuilder file(String name, byte[] content, int mode, long uid, long gid, Map<String, String> pax) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
            e.setMode(0100000 | mode);
            e.setSize(content.length);
            pax.forEach(e::addPaxHeader);
            return add(e, uid, gid, content);
        }

        public TarBuilder symlink(String name, String target) {
            return symlink(name, target, 0, 0);
        }

        public TarBuilder symlink(String name, String target, long uid, long gid) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
            e.setLinkName(target);
            e.setMode(0120777);
            return add(e, uid, gid, null);
        }

        public TarBuilder hardlink(String name, String target) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
            e.setLinkName(target);
            e.setMode(0100644);
            return add(e, 0, 0, null);
        }

        /** {@code <dir>/.wh.<name>}: deletes {@code name} of lower layers. */
        public TarBuilder whiteout(String dir, String name) {
            return file(prefix(dir) + ".wh." + name, new byte[0], 0644, 0, 0);
        }

        /** {@code <dir>/.wh..wh..opq}: hides everything lower layers have in {@code dir}. */
        public TarBuilder opaque(String dir) {
            return file(prefix(dir) + ".wh..wh..opq", new byte[0], 0644, 0, 0);
        }

        public TarBuilder fifo(String name, int mode) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_FIFO, true);
            e.setMode(010000 | mode);
            return add(e, 0, 0, null);
        }

        public TarBuilder charDevice(String name, int mode, int major, int minor) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_CHR, true);
            e.setMode(020000 | mode);
            e.setDevMajor(major);
            e.setDevMinor(minor);
            return add(e, 0, 0, null);
        }

        /** Any entry exactly as given (content may be null for non-files). */
        public TarBuilder raw(TarArchiveEntry entry, byte[] content) {
            try {
                out.putArchiveEntry(entry);
                if (content != null) {
                    out.write(content);
                }
                out.closeArchiveEntry();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        /** Appends raw bytes to the stream (for truncated or garbage tars). */
        public TarBuilder rawBytes(byte[] data) {
            try {
                out.flush();
                bytes.write(data);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        public byte[] build() {
            try {
                out.finish();
                out.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }

        private TarBuilder add(TarArchiveEntry e, long uid, long gid, byte[] content) {
            e.setUserId(uid);
            e.setGroupId(gid);
            e.setModTime(java.nio.file.attribute.FileTime.from(mtime));
            return raw(e, content);
        }

        private static String prefix(String dir) {
            if (dir == null || dir.isEmpty() || dir.equals("/")) {
                return "";
            }
            return dir.endsWith("/") ? dir : dir + "/";
        }
    }
}
