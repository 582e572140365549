package io.pvecri.image.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.airlift.compress.zstd.ZstdOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An image (or a multi-platform index of images) as a registry holds it: the manifest document
 * and every blob by digest, built from {@link TestImages} layers, plus a small client of the
 * distribution push API (blob upload POST + PUT, manifest PUT) to put it into a registry.
 *
 * @param manifest     the top-level document (manifest or index)
 * @param mediaType    its media type
 * @param blobs        every blob the document (transitively) references, digest to bytes
 * @param children     for an index: the platform manifests (pushed by digest first)
 * @param configDigest for a manifest: its config digest (the image id); null for an index
 */
public record RegistryImage(byte[] manifest, String mediaType, Map<String, byte[]> blobs,
                            List<RegistryImage> children, String configDigest) {

    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    public static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

    private static final ObjectMapper JSON = JsonMapper.builder().disable(SerializationFeature.INDENT_OUTPUT).build();

    /** The digest of the top-level document ({@code sha256:...}). */
    public String digest() {
        return TestImages.sha256(manifest);
    }

    /** Layer blob digests, in order (manifests only). */
    public List<String> layerDigests() {
        try {
            Map<?, ?> m = JSON.readValue(manifest, Map.class);
            List<String> out = new ArrayList<>();
            for (Object l : (List<?>) m.get("layers")) {
                out.add((String) ((Map<?, ?>) l).get("digest"));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- building ----------------------------------------------------------------------------

    /** A zstd-compressed layer (aircompressor's pure-Java encoder writes standard zstd frames). */
    public static TestImages.Layer zstd(byte[] tar) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZstdOutputStream z = new ZstdOutputStream(out)) {
            z.write(tar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TestImages.Layer(out.toByteArray(), TestImages.OCI_LAYER_ZSTD, TestImages.sha256(tar));
    }

    /** The busybox image with gzip layers as an OCI manifest. */
    public static RegistryImage busybox() throws IOException {
        return oci(List.of(TestImages.Layer.gzip(TestImages.busyboxLayerTar())), TestImages.ImageConfigJson.defaults());
    }

    /** Busybox plus the given extra layers on top. */
    public static RegistryImage busyboxWith(TestImages.Layer... extra) throws IOException {
        List<TestImages.Layer> layers = new ArrayList<>();
        layers.add(TestImages.Layer.gzip(TestImages.busyboxLayerTar()));
        layers.addAll(List.of(extra));
        return oci(layers, TestImages.ImageConfigJson.defaults());
    }

    /** An OCI image manifest with the layers exactly as given. */
    public static RegistryImage oci(List<TestImages.Layer> layers, TestImages.ImageConfigJson config) {
        return manifest(layers, config, TestImages.OCI_MANIFEST, TestImages.OCI_CONFIG);
    }

    /** A Docker schema 2 manifest (layers must use docker or OCI layer media types as given). */
    public static RegistryImage docker(List<TestImages.Layer> layers, TestImages.ImageConfigJson config) {
        return manifest(layers, config, DOCKER_MANIFEST, DOCKER_CONFIG);
    }

    private static RegistryImage manifest(List<TestImages.Layer> layers, TestImages.ImageConfigJson config,
                                          String manifestType, String configType) {
        Map<String, byte[]> blobs = new LinkedHashMap<>();
        byte[] configBytes = config.toJson(layers.stream().map(TestImages.Layer::diffId).toList());
        String configDigest = TestImages.sha256(configBytes);
        blobs.put(configDigest, configBytes);
        List<Object> layerDescs = new ArrayList<>();
        for (TestImages.Layer l : layers) {
            String d = TestImages.sha256(l.blob());
            blobs.put(d, l.blob());
            layerDescs.add(TestImages.descriptor(l.mediaType(), d, l.blob().length, null));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schemaVersion", 2);
        m.put("mediaType", manifestType);
        m.put("config", TestImages.descriptor(configType, configDigest, configBytes.length, null));
        m.put("layers", layerDescs);
        return new RegistryImage(json(m), manifestType, blobs, List.of(), configDigest);
    }

    /**
     * An OCI index over images for the given platforms ({@code os/arch[/variant]}), plus an
     * attestation manifest (platform unknown/unknown) that pulls must never choose.
     */
    public static RegistryImage index(Map<String, RegistryImage> byPlatform) {
        Map<String, byte[]> blobs = new LinkedHashMap<>();
        List<Object> descs = new ArrayList<>();
        List<RegistryImage> children = new ArrayList<>();
        for (Map.Entry<String, RegistryImage> e : byPlatform.entrySet()) {
            RegistryImage img = e.getValue();
            String[] p = e.getKey().split("/");
            Map<String, Object> d = TestImages.descriptor(img.mediaType(), img.digest(), img.manifest().length, null);
            Map<String, Object> platform = new LinkedHashMap<>();
            platform.put("architecture", p[1]);
            platform.put("os", p[0]);
            if (p.length > 2) {
                platform.put("variant", p[2]);
            }
            d.put("platform", platform);
            descs.add(d);
            blobs.putAll(img.blobs());
            children.add(img);
        }
        RegistryImage attestation = oci(List.of(TestImages.Layer.uncompressed(TestImages.tar().file("att.json", "{}").build())),
                TestImages.ImageConfigJson.defaults().withArchitecture("unknown"));
        Map<String, Object> ad = TestImages.descriptor(attestation.mediaType(), attestation.digest(),
                attestation.manifest().length, Map.of("vnd.docker.reference.type", "attestation-manifest",
                        "vnd.docker.reference.digest", children.getFirst().digest()));
        ad.put("platform", Map.of("architecture", "unknown", "os", "unknown"));
        descs.add(ad);
        blobs.putAll(attestation.blobs());
        children.add(attestation);
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("schemaVersion", 2);
        index.put("mediaType", TestImages.OCI_INDEX);
        index.put("manifests", descs);
        return new RegistryImage(json(index), TestImages.OCI_INDEX, blobs, children, null);
    }

    private static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- pushing -----------------------------------------------------------------------------

    /**
     * Pushes every blob and manifest to {@code http://<authority>/v2/<repository>} and tags the
     * top document {@code tag} (null: push by digest only).
     *
     * @param user null for an open registry, else basic-auth credentials
     */
    public void push(String authority, String repository, String tag, String user, String password) {
        push("http", authority, repository, tag, user, password);
    }

    /** Pushes over HTTPS, trusting any certificate (for {@link LocalRegistry#startWithTls()}). */
    public void pushTls(String authority, String repository, String tag) {
        push("https", authority, repository, tag, null, null);
    }

    private void push(String scheme, String authority, String repository, String tag, String user, String password) {
        HttpClient.Builder hb = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                .version(HttpClient.Version.HTTP_1_1);
        if (scheme.equals("https")) {
            hb.sslContext(LocalRegistry.trustAll());
        }
        HttpClient http = hb.build();
        String auth = user == null ? null
                : "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        String base = scheme + "://" + authority + "/v2/" + repository;
        try (http) {
            for (Map.Entry<String, byte[]> b : blobs.entrySet()) {
                HttpResponse<Void> head = http.send(req(URI.create(base + "/blobs/" + b.getKey()), auth)
                        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
                if (head.statusCode() == 200) {
                    continue;
                }
                HttpResponse<String> start = http.send(req(URI.create(base + "/blobs/uploads/"), auth)
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                expect(start, 202, "starting the upload of " + b.getKey());
                String location = start.headers().firstValue("Location").orElseThrow();
                URI upload = URI.create(base).resolve(location);
                String sep = upload.getRawQuery() == null ? "?" : "&";
                HttpResponse<String> put = http.send(req(URI.create(upload + sep + "digest=" + b.getKey()), auth)
                        .header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(b.getValue())).build(), HttpResponse.BodyHandlers.ofString());
                expect(put, 201, "uploading " + b.getKey());
            }
            for (RegistryImage child : children) {
                putManifest(http, base, auth, child.digest(), child.manifest(), child.mediaType());
            }
            putManifest(http, base, auth, tag == null ? digest() : tag, manifest, mediaType);
        } catch (IOException e) {
            throw new UncheckedIOException("pushing to " + authority + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public void push(String authority, String repository, String tag) {
        push(authority, repository, tag, null, null);
    }

    private static void putManifest(HttpClient http, String base, String auth, String ref, byte[] doc, String type)
            throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(req(URI.create(base + "/manifests/" + ref), auth)
                .header("Content-Type", type).PUT(HttpRequest.BodyPublishers.ofByteArray(doc)).build(),
                HttpResponse.BodyHandlers.ofString());
        expect(r, 201, "putting manifest " + ref);
    }

    private static HttpRequest.Builder req(URI uri, String auth) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return b;
    }

    private static void expect(HttpResponse<String> r, int status, String what) {
        if (r.statusCode() != status) {
            throw new IllegalStateException(what + ": HTTP " + r.statusCode() + " " + r.body());
        }
    }
}
