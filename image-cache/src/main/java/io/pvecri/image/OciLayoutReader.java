package io.pvecri.image;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Finds the images of an OCI image layout (a directory, an OCI archive, or a newer docker-archive). */
final class OciLayoutReader {

    private static final System.Logger LOG = System.getLogger(OciLayoutReader.class.getName());
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final String ATTESTATION_TYPE = "vnd.docker.reference.type";

    private final CandidateBuilder builder;
    private final ImportSource source;

    OciLayoutReader(CandidateBuilder builder) {
        this.builder = builder;
        this.source = builder.source();
    }

    static boolean isLayout(ImportSource source) throws InvalidImageException, IOException {
        return source.find("oci-layout").isPresent() && source.find("index.json").isPresent();
    }

    List<ImageCandidate> read() throws InvalidImageException, IOException {
        String where = source.describe();
        SourceFile markerFile = source.find("oci-layout").orElseThrow();
        Oci.LayoutMarker marker = Json.parse(CandidateBuilder.readSmall(markerFile, "oci-layout of " + where),
                Oci.LayoutMarker.class, "oci-layout of " + where);
        if (marker.imageLayoutVersion() == null || !marker.imageLayoutVersion().startsWith("1.")) {
            throw new InvalidImageException("oci-layout of " + where + ": unsupported imageLayoutVersion "
                    + marker.imageLayoutVersion() + " (expected 1.0.0)");
        }
        SourceFile indexFile = source.find("index.json").orElseThrow();
        Oci.Index index = Json.parse(CandidateBuilder.readSmall(indexFile, "index.json of " + where),
                Oci.Index.class, "index.json of " + where);
        List<Oci.Descriptor> entries = index.manifests() == null ? List.of() : index.manifests();
        if (entries.size() > Limits.MAX_INDEX_ENTRIES) {
            throw new InvalidImageException("index.json of " + where + " lists " + entries.size()
                    + " manifests, more than the " + Limits.MAX_INDEX_ENTRIES + " allowed");
        }
        List<ImageCandidate> out = new ArrayList<>();
        for (Oci.Descriptor d : entries) {
            String what = "index.json entry " + d.digest() + " of " + where;
            if (d.platform() != null && !HostPlatform.matches(d.platform())) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: skipping platform {1}", what, d.platform());
                continue;
            }
            Digest digest = Digest.parse(d.digest(), what);
            long size = CandidateBuilder.requireSize(d, what);
            List<ImageCandidate.ImageName> names = namesOf(d, what);
            if (MediaTypes.MANIFESTS.contains(d.mediaType())) {
                out.add(builder.fromManifestBlob(digest, size, digest, List.of(), names));
            } else if (MediaTypes.INDEXES.contains(d.mediaType())) {
                out.add(fromIndex(digest, size, digest, List.of(), names, 1));
            } else {
                LOG.log(System.Logger.Level.INFO, "{0}: skipping entry of media type {1} (not an image)",
                        what, d.mediaType());
            }
        }
        return out;
    }

    private ImageCandidate fromIndex(Digest digest, long size, Digest pin, List<ImageCandidate.MetaBlob> parents,
                                     List<ImageCandidate.ImageName> names, int depth)
            throws InvalidImageException, IOException {
        String what = "index " + digest;
        if (depth > Limits.MAX_INDEX_DEPTH) {
            throw new InvalidImageException(what + " in " + source.describe() + ": indexes nested deeper than "
                    + Limits.MAX_INDEX_DEPTH);
        }
        byte[] bytes = builder.readJsonBlob(digest, size, what);
        Oci.Index index = Json.parse(bytes, Oci.Index.class, what + " in " + source.describe());
        List<Oci.Descriptor> entries = index.manifests() == null ? List.of() : index.manifests();
        if (entries.size() > Limits.MAX_INDEX_ENTRIES) {
            throw new InvalidImageException(what + " in " + source.describe() + " lists " + entries.size()
                    + " manifests, more than the " + Limits.MAX_INDEX_ENTRIES + " allowed");
        }
        List<ImageCandidate.MetaBlob> meta = new ArrayList<>(parents);
        meta.add(new ImageCandidate.MetaBlob(digest, bytes));
        List<String> available = new ArrayList<>();
        for (Oci.Descriptor d : entries) {
            boolean image = MediaTypes.MANIFESTS.contains(d.mediaType()) || MediaTypes.INDEXES.contains(d.mediaType());
            if (!image || d.annotation(ATTESTATION_TYPE) != null) {
                continue;
            }
            if (d.platform() != null) {
                available.add(d.platform().toString());
            }
            if (!HostPlatform.matches(d.platform())) {
                continue;
            }
            String childWhat = what + " entry " + d.digest();
            Digest child = Digest.parse(d.digest(), childWhat);
            long childSize = CandidateBuilder.requireSize(d, childWhat);
            if (MediaTypes.MANIFESTS.contains(d.mediaType())) {
                return builder.fromManifestBlob(child, childSize, pin, meta, names);
            }
            return fromIndex(child, childSize, pin, meta, names, depth + 1);
        }
        throw new InvalidImageException(what + " in " + source.describe() + " has no image for "
                + HostPlatform.describe() + " (available: " + available + ")");
    }

    static List<ImageCandidate.ImageName> namesOf(Oci.Descriptor d, String what) throws InvalidImageException {
        List<ImageCandidate.ImageName> names = new ArrayList<>();
        String containerdName = d.annotation(Oci.ANNOTATION_CONTAINERD_NAME);
        String refName = d.annotation(Oci.ANNOTATION_REF_NAME);
        if (containerdName != null && !containerdName.isEmpty()) {
            names.add(new ImageCandidate.ImageName.Full(parseName(containerdName, what)));
        } else if (refName != null && !refName.isEmpty()) {
            if (refName.contains("/") || refName.contains(":") || refName.contains("@")) {
                names.add(new ImageCandidate.ImageName.Full(parseName(refName, what)));
            } else if (TAG.matcher(refName).matches()) {
                names.add(new ImageCandidate.ImageName.TagOnly(refName));
            } else {
                throw new InvalidImageException(what + ": annotation " + Oci.ANNOTATION_REF_NAME + "='" + refName
                        + "' is neither a tag nor an image reference");
            }
        }
        return names;
    }

    private static ImageReference parseName(String name, String what) throws InvalidImageException {
        try {
            return ImageReference.parse(name);
        } catch (InvalidImageException e) {
            throw new InvalidImageException(what + ": " + e.getMessage(), e);
        }
    }
}
