// Style sheets are imported for esbuild to bundle; to the type checker they are nothing.
declare module '*.css';
