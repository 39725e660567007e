// Flat config: typescript-eslint's recommended rules, plus a ban on `any` so the provider types stay honest,
// plus Pulumi's own plugin (@pulumi/eslint-plugin, pinned): both of its rules, which need type information.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "app/**"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        languageOptions: { globals: { process: "readonly", console: "readonly", __dirname: "readonly", require: "readonly", module: "writable", Buffer: "readonly" } },
        rules: {
            "@typescript-eslint/no-explicit-any": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            "no-console": "off",
            eqeqeq: ["error", "always"],
        },
    },
    {
        // An Output in a plain template literal prints "Calling [toString] on an [Output<T>] is not
        // supported" instead of its value (a bucket policy or a Kubernetes manifest would carry that
        // text): pulumi.interpolate or apply is required. The rules ask the type checker, so they run
        // with typed linting over tsconfig.json's files (every .ts file of the project).
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
        },
    },
);
