/** cdk8s face: constructs over the kubepin core. */
export {};
