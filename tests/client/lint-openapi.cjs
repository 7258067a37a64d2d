// Lints an OpenAPI document with Redocly's recommended rules (node lint-openapi.cjs FILE):
// the rules of `@redocly/cli lint`, from @redocly/openapi-core, which openapi-typescript
// already depends on, so it runs offline. Any problem, warnings included, fails.
const { lint, createConfig } = require("@redocly/openapi-core");

(async () => {
  const config = await createConfig({ extends: ["recommended"] });
  const problems = await lint({ ref: process.argv[2], config });
  for (const problem of problems) {
    const where = problem.location.map((location) => location.pointer).join(", ");
    console.error(`${problem.severity} ${problem.ruleId}: ${problem.message} (${where})`);
  }
  process.exit(problems.length === 0 ? 0 : 1);
})();
