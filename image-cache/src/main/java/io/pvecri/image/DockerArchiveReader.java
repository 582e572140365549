package io.pvecri.image;

import com.fasterxml.jackson.core.type.TypeReference;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the images of a {@code docker save} archive through its {@code manifest.json}. Classic
 * archives have no manifest blobs, so a Docker v2 schema 2 manifest is synthesised (deterministic
 * JSON, so re-imports yield the same digest); its digest becomes the image's repo digest.
 */
final class DockerArchiveReader {

    private static final Pattern DIGEST_NAMED = Pattern.compile("(?:.*/)?(?:blobs/sha256/)?([a-f0-9]{64})(?:\\.json)?");
    private static final TypeReference<List<Oci.DockerArchiveEntry>> ENTRIES = new TypeReference<>() {
    };

    private final CandidateBuilder builder;
    private final ImportSource source;

    DockerArchiveReader(CandidateBuilder builder) {
        this.builder = builder;
        this.source = builder.source();
    }

    static boolean isDockerArchive(ImportSource source) throws InvalidImageException, IOException {
        return source.find("manifest.json").isPresent();
    }

    List<Oci.DockerArchiveEntry> entries() throws InvalidImageException, IOException {
        String what = "manifest.json of " + source.describe();
        SourceFile f = source.find("manifest.json").orElseThrow(() ->
                new InvalidImageException(source.describe() + " has no manifest.json"));
        List<Oci.DockerArchiveEntry> entries = Json.parse(CandidateBuilder.readSmall(f, what), ENTRIES, what);
        if (entries.size() > Limits.MAX_INDEX_ENTRIES) {
            throw new InvalidImageException(what + " lists " + entries.size() + " images, more than the "
                    + Limits.MAX_INDEX_ENTRIES + " allowed");
        }
        return entries;
    }

    /** RepoTags per config digest, for docker archives that are also OCI layouts (Docker 25+). */
    Map<Digest, List<ImageCandidate.ImageName>> repoTagsByConfig() throws InvalidImageException, IOException {
        Map<Digest, List<ImageCandidate.ImageName>> out = new HashMap<>();
        List<Oci.DockerArchiveEntry> entries = entries();
        for (int i = 0; i < entries.size(); i++) {
            Oci.DockerArchiveEntry e = entries.get(i);
            Optional<Digest> d = digestFromName(e.config());
            if (d.isPresent()) {
                out.computeIfAbsent(d.get(), k -> new ArrayList<>())
                        .addAll(names(e, "manifest.json entry " + (i + 1) + " of " + source.describe()));
            }
        }
        return out;
    }

    List<ImageCandidate> read() throws InvalidImageException, IOException {
        List<Oci.DockerArchiveEntry> entries = entries();
        List<ImageCandidate> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            out.add(read(entries.get(i), "docker-archive image " + (i + 1) + "/" + entries.size()));
        }
        return out;
    }

    private ImageCandidate read(Oci.DockerArchiveEntry e, String what) throws InvalidImageException, IOException {
        String where = what + " of " + source.describe();
        if (e.config() == null) {
            throw new InvalidImageException(where + ": manifest.json entry has no Config");
        }
        SourceFile configFile = source.find(e.config()).orElseThrow(() ->
                new InvalidImageException(where + ": config file " + e.config() + " is missing"));
        byte[] config = CandidateBuilder.readSmall(configFile, "config " + e.config() + " of " + where);
        Digest configDigest = Digest.of(config);
        Optional<Digest> named = digestFromName(e.config());
        if (named.isPresent() && !named.get().equals(configDigest)) {
            throw new InvalidImageException(where + ": config " + e.config() + " does not match its digest "
                    + named.get() + " (computed " + configDigest + "); the archive is corrupt or was modified");
        }
        List<String> layerPaths = e.layers() == null ? List.of() : e.layers();
        if (layerPaths.size() > Limits.MAX_LAYERS) {
            throw new InvalidImageException(where + ": has " + layerPaths.size() + " layers, more than the "
                    + Limits.MAX_LAYERS + " allowed");
        }
        List<Oci.Descriptor> layers = new ArrayList<>();
        Map<String, SourceFile> files = new LinkedHashMap<>();
        for (int i = 0; i < layerPaths.size(); i++) {
            String path = layerPaths.get(i);
            String layerWhat = "layer " + (i + 1) + "/" + layerPaths.size() + " (" + path + ") of " + where;
            SourceFile f = source.find(path).orElseThrow(() -> new InvalidImageException(layerWhat + " is missing"));
            Oci.Descriptor d = describeLayer(f, layerWhat);
            Optional<Digest> layerNamed = digestFromName(path);
            if (layerNamed.isPresent() && !layerNamed.get().toString().equals(d.digest())) {
                throw new InvalidImageException(layerWhat + " does not match its digest " + layerNamed.get()
                        + " (computed " + d.digest() + "); the archive is corrupt or was modified");
            }
            layers.add(d);
            files.put(d.digest(), f);
        }
        String configMediaType = MediaTypes.DOCKER_CONFIG;
        Oci.Manifest manifest = new Oci.Manifest(2, MediaTypes.DOCKER_MANIFEST,
                new Oci.Descriptor(configMediaType, configDigest, config.length), layers, null);
        byte[] manifestBytes = Json.write(manifest);
        Digest manifestDigest = Digest.of(manifestBytes);
        return builder.fromManifest(manifest, what, manifestDigest,
                List.of(new ImageCandidate.MetaBlob(manifestDigest, manifestBytes)), names(e, where),
                (digest, size, w) -> config,
                layer -> Optional.ofNullable(files.get(layer.digest())));
    }

    private static Oci.Descriptor describeLayer(SourceFile f, String what) throws InvalidImageException, IOException {
        MessageDigest md = Digest.sha256();
        byte[] head = new byte[4];
        int headLen = 0;
        long size = 0;
        try (InputStream in = Files.newInputStream(f.path())) {
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (headLen < head.length) {
                    int c = Math.min(head.length - headLen, n);
                    System.arraycopy(buf, 0, head, headLen, c);
                    headLen += c;
                }
                md.update(buf, 0, n);
                size += n;
            }
        }
        String mediaType;
        if (headLen >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            mediaType = MediaTypes.DOCKER_LAYER_GZIP;
        } else if (headLen >= 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5
                && (head[2] & 0xff) == 0x2f && (head[3] & 0xff) == 0xfd) {
            throw new InvalidImageException(what + " is zstd-compressed; zstd layers are not supported yet");
        } else {
            mediaType = MediaTypes.DOCKER_LAYER;
        }
        return new Oci.Descriptor(mediaType, Digest.of(md), size);
    }

    private static Optional<Digest> digestFromName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        Matcher m = DIGEST_NAMED.matcher(name);
        return m.matches() ? Optional.of(new Digest(m.group(1))) : Optional.empty();
    }

    private static List<ImageCandidate.ImageName> names(Oci.DockerArchiveEntry e, String where)
            throws InvalidImageException {
        List<ImageCandidate.ImageName> out = new ArrayList<>();
        if (e.repoTags() != null) {
            for (String t : e.repoTags()) {
                try {
                    out.add(new ImageCandidate.ImageName.Full(ImageReference.parse(t)));
                } catch (InvalidImageException ex) {
                    throw new InvalidImageException(where + ": RepoTags: " + ex.getMessage(), ex);
                }
            }
        }
        return out;
    }
}
