/** Help lines for the commands that take a Pulumi program. */
export const PULUMI_PROGRAM_HELP = `In a Pulumi project (Pulumi.yaml here or above) with no PATH and no dist/, runs the program and checks the
resources it registers (after its ImagePolicy): through \`pulumi preview\` of the stack when a
pulumi CLI is there, else under mocks (as \`kubepin lock\`; a component whose children it cannot
see fails, named with the fix). Give the directory of a provider's renderYamlToDirectory to
check what \`pulumi up\` wrote instead.
  --engine PATH                the pulumi CLI to run \`pulumi preview\` with
  --stack NAME                 the stack to preview (default: the selected one)
  --mocks                      run the program under mocks even where a pulumi CLI is on PATH`;
