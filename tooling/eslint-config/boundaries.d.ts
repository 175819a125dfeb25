export declare const ALLOWED_DEPENDENCIES: Readonly<Record<string, readonly string[]>>;
export declare const TSVM_PACKAGES: readonly string[];
export declare function forbiddenDependencies(name: string): string[];
