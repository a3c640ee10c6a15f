/** Pulumi face: components over the kubepin core. */
export {};
