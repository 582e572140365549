package io.pvecri.image;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A parsed image reference following the Docker/distribution grammar with Docker's
 * normalisation: names without a registry live on {@code docker.io}, single-component
 * {@code docker.io} names get the {@code library/} prefix, and a reference without tag and
 * digest gets the tag {@code latest}.
 *
 * <pre>
 * busybox                      -> docker.io/library/busybox:latest
 * busybox:1.36                 -> docker.io/library/busybox:1.36
 * reg.local:5000/a/b:t         -> reg.local:5000/a/b:t
 * busybox@sha256:&lt;hex&gt;         -> docker.io/library/busybox@sha256:&lt;hex&gt;
 * </pre>
 */
public final class ImageReference {

    public static final String DEFAULT_DOMAIN = "docker.io";
    public static final String DEFAULT_TAG = "latest";
    private static final String LEGACY_DEFAULT_DOMAIN = "index.docker.io";
    private static final String OFFICIAL_REPO_PREFIX = "library/";
    private static final int MAX_NAME_LENGTH = 255;

    private static final String PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    private static final Pattern PATH = Pattern.compile(PATH_COMPONENT + "(?:/" + PATH_COMPONENT + ")*");
    private static final String DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:" + DOMAIN_COMPONENT + "(?:\\." + DOMAIN_COMPONENT + ")*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final Pattern DIGEST = Pattern.compile(
            "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[a-f0-9]{32,}");
    private static final Pattern SHA256_DIGEST = Pattern.compile("sha256:[a-f0-9]{64}");
    private static final Pattern HEX64 = Pattern.compile("[a-f0-9]{64}");

    private final String domain;
    private final String path;
    private final String tag;     // null only when a digest is given without a tag
    private final String digest;  // nullable

    private ImageReference(String domain, String path, String tag, String digest) {
        this.domain = domain;
        this.path = path;
        this.tag = tag;
        this.digest = digest;
    }

    /**
     * Parses and normalises a reference.
     *
     * @throws InvalidImageException if the text is not a valid image reference; the message
     *                               names the offending part
     */
    public static ImageReference parse(String text) throws InvalidImageException {
        if (text == null || text.isEmpty()) {
            throw invalid(text, "reference is empty");
        }
        if (!text.strip().equals(text)) {
            throw invalid(text, "reference has leading or trailing whitespace");
        }
        String rest = text;
        String digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = rest.substring(at + 1);
            rest = rest.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw invalid(text, "digest '" + digest + "' is not of the form <algorithm>:<lowercase hex>");
            }
            if (digest.startsWith("sha256:") && !SHA256_DIGEST.matcher(digest).matches()) {
                throw invalid(text, "sha256 digest must have exactly 64 lowercase hex characters");
            }
        }
        String tag = null;
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/')) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw invalid(text, "tag '" + tag + "' must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
            }
        }
        if (rest.isEmpty()) {
            throw invalid(text, "repository name is empty");
        }
        if (HEX64.matcher(rest).matches()) {
            throw invalid(text, "repository name cannot be a 64-character hexadecimal string (that is an image id)");
        }

        String domain;
        String path;
        int slash = rest.indexOf('/');
        String first = slash < 0 ? "" : rest.substring(0, slash);
        if (slash < 0 || (!first.contains(".") && !first.contains(":") && !first.equals("localhost")
                && first.toLowerCase(java.util.Locale.ROOT).equals(first))) {
            domain = DEFAULT_DOMAIN;
            path = rest;
        } else {
            domain = first;
            path = rest.substring(slash + 1);
            if (!DOMAIN.matcher(domain).matches()) {
                throw invalid(text, "registry '" + domain + "' is not a valid host[:port]");
            }
        }
        if (domain.equals(LEGACY_DEFAULT_DOMAIN)) {
            domain = DEFAULT_DOMAIN;
        }
        if (!path.toLowerCase(java.util.Locale.ROOT).equals(path)) {
            throw invalid(text, "repository name must be lowercase");
        }
        if (!PATH.matcher(path).matches()) {
            throw invalid(text, "repository path '" + path
                    + "' must be lowercase components [a-z0-9] joined by '.', '_', '__' or '-', separated by '/'");
        }
        if (domain.equals(DEFAULT_DOMAIN) && !path.contains("/")) {
            path = OFFICIAL_REPO_PREFIX + path;
        }
        if (domain.length() + 1 + path.length() > MAX_NAME_LENGTH) {
            throw invalid(text, "repository name is longer than " + MAX_NAME_LENGTH + " characters");
        }
        if (tag == null && digest == null) {
            tag = DEFAULT_TAG;
        }
        return new ImageReference(domain, path, tag, digest);
    }

    private static InvalidImageException invalid(String text, String why) {
        return new InvalidImageException("invalid image reference '" + text + "': " + why);
    }

    /** The full normalised form, e.g. {@code docker.io/library/busybox:latest}. */
    public String normalized() {
        StringBuilder sb = new StringBuilder(repository());
        if (tag != null) {
            sb.append(':').append(tag);
        }
        if (digest != null) {
            sb.append('@').append(digest);
        }
        return sb.toString();
    }

    /** Registry plus path, e.g. {@code docker.io/library/busybox}. */
    public String repository() {
        return domain + "/" + path;
    }

    /** The registry host[:port], e.g. {@code docker.io}. */
    public String domain() {
        return domain;
    }

    /** The path within the registry, e.g. {@code library/busybox}. */
    public String path() {
        return path;
    }

    /** The tag; {@code latest} when neither tag nor digest was given; empty for a digest-only reference. */
    public Optional<String> tag() {
        return Optional.ofNullable(tag);
    }

    /** The digest, e.g. {@code sha256:<hex>}, if the reference pins one. */
    public Optional<String> digest() {
        return Optional.ofNullable(digest);
    }

    /** {@code repository:tag} if a tag is present. */
    Optional<String> taggedName() {
        return tag().map(t -> repository() + ":" + t);
    }

    /** {@code repository@digest} if a digest is present. */
    Optional<String> digestName() {
        return digest().map(d -> repository() + "@" + d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageReference r && r.normalized().equals(normalized());
    }

    @Override
    public int hashCode() {
        return Objects.hash(normalized());
    }

    @Override
    public String toString() {
        return normalized();
    }
}
