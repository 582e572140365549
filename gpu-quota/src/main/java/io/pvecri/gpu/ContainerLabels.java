package io.pvecri.gpu;

/** The Kubernetes names of a container, carried into readings for metric labels. Empty when unknown. */
public record ContainerLabels(String namespace, String pod, String container) {

    public static final ContainerLabels NONE = new ContainerLabels("", "", "");

    public ContainerLabels {
        namespace = namespace == null ? "" : namespace;
        pod = pod == null ? "" : pod;
        container = container == null ? "" : container;
    }
}
