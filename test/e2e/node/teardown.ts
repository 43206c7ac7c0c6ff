/** Jest global teardown of `make e2e-node`: what the cluster looked like at the end, then the node goes. */
export default async function teardown(): Promise<void> {
  const release = globalThis.evshareNodeRelease;
  if (!release) return;
  console.log(await release.diagnose());
  await release.stop();
}
